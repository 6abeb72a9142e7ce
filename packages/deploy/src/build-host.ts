import { PassThrough } from "node:stream";
import { HiveError, parseStorePath, type StorePath } from "@hive/core";
import type { PathInfo } from "@hive/nix";
import { copyClosure, missingOnTarget, queryTarget, refuseIfFull } from "./copier.js";
import type { Host } from "./host.js";
import { buildOnTarget, type NodeDeployOptions } from "./node-deploy.js";

/**
 * `--build-host`: a node's system built on another machine than this one and its target. The
 * derivations go up to the build host, which builds them (substituting what it can); the result
 * goes from there to the target, directly when the build host can reach it, else streamed through
 * this machine. This machine's store never holds the system.
 */
export async function buildOnBuildHost(buildHost: Host, drv: StorePath, options: NodeDeployOptions): Promise<void> {
  options.onEvent({ type: "step", node: buildHost.node, step: "build", detail: `on ${buildHost.description}` });
  const exporter = options.exporter.join();
  try {
    await copyClosure(buildHost, drv, { gzip: options.gzip, substitute: false, exporter });
  } finally {
    exporter.leave();
  }
  await buildOnTarget(buildHost, drv, options, false);
}

/** The system's closure on the build host, dependencies first, with sizes (for the target's free space). */
async function closureOnHost(host: Host, system: StorePath): Promise<PathInfo[]> {
  const listed = await host.run("push", ["nix-store", "--query", "--requisites", system], { privileged: true });
  const paths = listed.stdout.split("\n").filter((p) => p !== "");
  const sized = await host.run("push", ["nix-store", "--query", "--size", ...paths], { privileged: true });
  const sizes = sized.stdout.split("\n").filter((s) => s !== "");
  return paths.map((path, i) => ({ path: parseStorePath(path), narSize: Number(sizes[i] ?? 0), references: [] }));
}

const BATCH_SSH = "-o BatchMode=yes -o ConnectTimeout=10";

export type CopyRoute = "direct" | "through this machine";

/** Copies a system from the build host to the target: the paths the target lacks, and only those. */
export async function copyFromBuildHost(
  buildHost: Host,
  target: Host,
  system: StorePath,
  options: NodeDeployOptions,
): Promise<{ route: CopyRoute | undefined; copied: number }> {
  const node = target.node;
  const log = (line: string) => options.onEvent({ type: "log", node, step: "push", line });
  const closure = await closureOnHost(buildHost, system);
  const state = await queryTarget(target, closure, options.substitute);
  const { missing } = state;
  if (missing.length === 0) return { route: undefined, copied: 0 };
  refuseIfFull(target, state);
  const address = target.transport.sshAddress;
  if (address !== undefined) {
    // The build host's own ssh (its keys, config and known hosts), never asking anything.
    const direct = await buildHost.exec(
      [
        "env",
        `NIX_SSHOPTS=${BATCH_SSH} -p ${address.port}`,
        "nix-copy-closure",
        "--to",
        `${address.user}@${address.hostName}`,
        ...missing.map((p) => p.path),
      ],
      { privileged: true },
    );
    if (direct.exitCode === 0 && (await missingOnTarget(target, missing)).length === 0) {
      log(`${missing.length} paths copied from ${buildHost.description} directly`);
      return { route: "direct", copied: missing.length };
    }
    const why = direct.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${direct.exitCode ?? "?"}`;
    log(`${buildHost.description} cannot reach ${target.description} itself (${why}): copying through this machine`);
  }
  await relay(buildHost, target, missing);
  log(`${missing.length} paths copied from ${buildHost.description} through this machine`);
  return { route: "through this machine", copied: missing.length };
}

/** One `nix-store --export` on the build host streamed into `nix-store --import` on the target. */
async function relay(buildHost: Host, target: Host, missing: readonly PathInfo[]): Promise<void> {
  const body = new PassThrough();
  const imported = target.run("push", ["nix-store", "--import"], { privileged: true, stdin: body });
  imported.catch(() => undefined);
  const exported = buildHost
    .exec(["nix-store", "--export", ...missing.map((p) => p.path)], { privileged: true, stdout: body })
    .then((result) => {
      if (result.exitCode !== 0)
        throw new HiveError(
          "HIVE_REMOTE_COMMAND_FAILED",
          `node ${target.node}: push: nix-store --export failed on ${buildHost.description}:\n${result.stderr.trim()}`,
        );
      body.end();
    });
  try {
    await Promise.all([exported, imported]);
  } catch (error) {
    // An export that breaks off must not leave the import waiting for the rest.
    body.destroy();
    throw error;
  }
}
