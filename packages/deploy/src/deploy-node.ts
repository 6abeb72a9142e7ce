import type { DrvPath, NodeConfig, StorePath } from "@hive/core";

/**
 * What a node is to a deploy: only its settings (goals that build nothing, e.g. upload-keys), a
 * system built here or on remote builders, a system its own host builds from the derivations, or
 * one a build host builds (`--build-host`) and sends on to the target.
 */
export type DeployNode =
  | (NodeConfig & { kind: "config" })
  | (NodeConfig & { kind: "built"; drvPath: DrvPath; outPath: StorePath })
  | (NodeConfig & { kind: "target"; drvPath: DrvPath; outPath: StorePath })
  | (NodeConfig & { kind: "build-host"; drvPath: DrvPath; outPath: StorePath });
