import { miniNixpkgsPath, nixEnvironment } from "@hive/testbed";
import { run } from "./run.js";

const prelude = `
  let
    np = ${miniNixpkgsPath};
    lib = import (np + "/lib");
    inherit (lib) mkOption types;
    eval = modules: (lib.evalModules { inherit modules; }).config;
    nixos = modules: import (np + "/nixos/lib/eval-config.nix") { inherit modules; system = "x86_64-linux"; };
  in `;

/** Evaluates an expression (with `np`, `lib`, `mkOption`, `types`, `eval` and `nixos` in scope) to JSON. */
export async function evalNix(expression: string): Promise<unknown> {
  const result = await run("nix-instantiate", ["--eval", "--strict", "--json", "-E", prelude + expression], {
    env: nixEnvironment(),
  });
  if (result.code !== 0) throw new Error(`evaluation failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}

/** Evaluates an expression that must fail, and returns Nix's error message. */
export async function evalNixError(expression: string): Promise<string> {
  const result = await run("nix-instantiate", ["--eval", "--strict", "--json", "-E", prelude + expression], {
    env: nixEnvironment(),
  });
  if (result.code === 0) throw new Error(`evaluation succeeded but should have failed: ${result.stdout}`);
  return result.stderr;
}
