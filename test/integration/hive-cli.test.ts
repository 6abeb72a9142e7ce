import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../support/run.js";
import { hiveBin } from "../support/paths.js";

describe("the hive executable", () => {
  it("prints its version", async () => {
    const { version } = JSON.parse(
      await readFile(new URL("../../packages/cli/package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const result = await run(process.execPath, [hiveBin, "--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("prints help with the exit codes", async () => {
    const result = await run(process.execPath, [hiveBin, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^hive <command> \[options\]/);
    expect(result.stdout.replace(/\s+/g, " ")).toMatch(
      /Exit codes: 0 success, 1 some nodes failed, 2 usage error .*, 3 hive or Nix error, 130 interrupted/,
    );
    for (const command of ["nodes", "eval", "repl", "nix-info"])
      expect(result.stdout).toMatch(new RegExp(`^  hive ${command}\\b`, "m"));
  });

  it.each([
    [[], /name a command/],
    [["frobnicate"], /Unknown command: frobnicate/],
    [["--frobnicate"], /Unknown argument: frobnicate/],
  ])("refuses %j with exit code 2", async (args, message) => {
    const result = await run(process.execPath, [hiveBin, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("says a usage error in a line and a hint, not the whole help", async () => {
    const result = await run(process.execPath, [hiveBin, "apply", "--frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("hive: Unknown argument: frobnicate\n  hint: hive apply --help lists the options\n");
  });

  it("gives every command examples in its --help", async () => {
    const help = await run(process.execPath, [hiveBin, "--help"]);
    const commands = [...help.stdout.matchAll(/^ {2}hive ([a-z-]+)/gm)].map((m) => m[1] ?? "");
    expect(commands).toEqual(expect.arrayContaining(["apply", "status", "diff", "errors", "completion"]));
    for (const command of commands) {
      const own = await run(process.execPath, [hiveBin, command, "--help"]);
      expect(own.stdout, command).toMatch(/^Examples:$/m);
    }
  });

  it("documents every error code in the README, with its exit code", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const errors = JSON.parse((await run(process.execPath, [hiveBin, "errors", "--json"])).stdout) as {
      code: string;
      exit: number;
    }[];
    expect(errors.length).toBeGreaterThan(20);
    for (const { code, exit } of errors)
      expect(readme).toMatch(new RegExp(`^\\| \`${code}\`\\s+\\| ${exit}\\s+\\|`, "m"));
  });

  it("takes options from HIVE_* variables, the command line winning, and ignores other HIVE_* names", async () => {
    const cwd = fileURLToPath(new URL("../../examples/fleet/", import.meta.url));
    const env = (vars: Record<string, string>) => ({ env: { ...process.env, ...vars }, cwd });
    const plan = ["apply", "--on", "web-1", "--dry-run"];
    const fromEnv = await run(process.execPath, [hiveBin, ...plan], env({ HIVE_PARALLEL: "many" }));
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/--parallel takes a whole number/);
    const overridden = await run(process.execPath, [hiveBin, ...plan, "-p", "2"], env({ HIVE_PARALLEL: "many" }));
    expect(overridden.code, overridden.stderr).toBe(0);
    const json = await run(process.execPath, [hiveBin, "nodes"], env({ HIVE_JSON: "false", HIVE_SOME_TOOL: "1" }));
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toMatch(/│ web-1 /);
  });
});
