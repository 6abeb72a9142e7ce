import { execFile } from "node:child_process";
import { HiveError } from "@hive/core";
import { readNixInfo, type NixInfo } from "@hive/nix";
import { MINIMUM_NODE, nodeIsRecentEnough } from "./node-version.js";

export interface RuntimeNeeds {
  node: string;
  /** null when no usable `nix` is on PATH. */
  nix: NixInfo | null;
  /** `ssh -V`'s line, or null when there is no OpenSSH client. */
  ssh: string | null;
  /** Each thing hive needs that this machine lacks, with what to do. */
  missing: string[];
}

function sshVersion(): Promise<string | null> {
  return new Promise((resolve) => {
    // OpenSSH prints its version on stderr.
    execFile("ssh", ["-V"], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") resolve(null);
      else resolve(`${stderr}${stdout}`.trim().split("\n")[0] ?? "");
    });
  });
}

/** What hive needs on the machine it runs on: Node, Nix (and its tools), and OpenSSH's client. */
export async function readRuntimeNeeds(): Promise<RuntimeNeeds> {
  const missing: string[] = [];
  const node = process.versions.node;
  if (!nodeIsRecentEnough(node)) missing.push(`Node ${MINIMUM_NODE.join(".")} or newer; found ${node}`);
  let nix: NixInfo | null = null;
  try {
    nix = await readNixInfo();
    missing.push(...nix.missing);
  } catch (error) {
    if (!(error instanceof HiveError) || error.code !== "HIVE_NIX_MISSING") throw error;
    missing.push(
      "Nix 2.4 or newer on PATH (on Debian: apt-get install nix-bin; elsewhere: https://nixos.org/download)",
    );
  }
  const ssh = await sshVersion();
  if (ssh === null)
    missing.push("OpenSSH's client (ssh) on PATH: Nix uses it to reach remote builders and to copy between hosts");
  return { node, nix, ssh, missing };
}
