import type { DrvPath, NodeConfig, StorePath } from "@hive/core";

/**
 * What a node is to a deploy: only its settings (goals that build nothing, e.g. upload-keys), a
 * system built here or on remote builders, or a system its own host builds from the derivations.
 */
export type DeployNode =
  | (NodeConfig & { kind: "config" })
  | (NodeConfig & { kind: "built"; drvPath: DrvPath; outPath: StorePath })
  | (NodeConfig & { kind: "target"; drvPath: DrvPath; outPath: StorePath });
