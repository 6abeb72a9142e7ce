import { cp, mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { miniNixpkgsPath, nixEnvironment } from "@hive/testbed";
import { afterAll } from "vitest";
import { hiveBin } from "./paths.js";
import { ok, run, type Result } from "./run.js";

export const fixturesDir = fileURLToPath(new URL("../fixtures/", import.meta.url));

export function hiveFixture(name: string): string {
  return join(fixturesDir, "hives", name);
}

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * Copies a flake fixture to a fresh temporary directory (a flake inside this git checkout would
 * see only tracked files), pointing its nixpkgs input at the mini nixpkgs and its hive input at
 * hive's Nix files (the deployment options module).
 */
export async function flakeFixture(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `hive-flake-${name}-`));
  made.push(dir);
  await cp(join(fixturesDir, "flakes", name), dir, { recursive: true });
  const flake = join(dir, "flake.nix");
  await writeFile(
    flake,
    (await readFile(flake, "utf8"))
      .replaceAll("@NIXPKGS@", miniNixpkgsPath)
      .replaceAll("@HIVE_ASSETS@", fileURLToPath(new URL("../../packages/eval/assets", import.meta.url))),
  );
  return dir;
}

/** Runs the built hive binary. */
export function hive(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Result> {
  const env = { ...process.env, NIX_PATH: "", ...options.env };
  return run(process.execPath, [hiveBin, ...args], {
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** Runs hive and parses its JSON output, failing with its stderr if it did not succeed. */
export async function hiveJson<T = unknown>(args: readonly string[], options: { cwd?: string } = {}): Promise<T> {
  const result = await hive(args, options);
  if (result.code !== 0) throw new Error(`hive ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** The system a flake's nixosConfigurations.NAME evaluates to (its toplevel's out path). */
export async function flakeToplevel(flake: string, name: string): Promise<string> {
  const out = await ok(
    "nix",
    [
      "--extra-experimental-features",
      "nix-command flakes",
      "eval",
      "--raw",
      `${flake}#nixosConfigurations.${name}.config.system.build.toplevel.outPath`,
    ],
    { env: nixEnvironment() },
  );
  return out.trim();
}
