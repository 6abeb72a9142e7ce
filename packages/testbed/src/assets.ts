import { fileURLToPath } from "node:url";

/** The mini nixpkgs fixture (a directory usable as `meta.nixpkgs = import <it> { ... }`). */
export const miniNixpkgsPath = fileURLToPath(new URL("../nixpkgs", import.meta.url));

/** The script that mounts a host's private /nix, /run and /etc files inside its namespace. */
export const hostInitPath = fileURLToPath(new URL("../assets/host-init.sh", import.meta.url));

/**
 * Nix settings for commands run by tests on this machine: no network means no substituter,
 * and Debian's Nix needs the sandbox off and the new CLI enabled explicitly.
 */
export const testNixConfig = [
  "experimental-features = nix-command flakes",
  "sandbox = false",
  "substituters =",
  "fallback = false",
].join("\n");

/** Environment for spawning `nix` on this machine in tests, demos and benchmarks. */
export function nixEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, NIX_CONFIG: [base["NIX_CONFIG"] ?? "", testNixConfig].join("\n").trim() };
}
