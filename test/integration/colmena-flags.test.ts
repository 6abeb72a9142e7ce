import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hive, hiveFixture } from "../support/hive-fixtures.js";
import { repoRoot } from "../support/paths.js";

/** Splits a README command line into words: spaces separate, single quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? "");
}

const readme = await readFile(join(repoRoot, "README.md"), "utf8");
const table = /<!-- colmena-table:start -->\n([\s\S]*?)<!-- colmena-table:end -->/.exec(readme)?.[1] ?? "";
const rows = [...table.matchAll(/^\|\s*`colmena ([^`]+)`\s*\|\s*(.+?)\s*\|$/gm)].map((m) => ({
  line: m[1] ?? "",
  meaning: m[2] ?? "",
}));
/** Goals and commands that build: run with --dry-run, so the row plans for real and changes nothing. */
const PLANS = /^(apply(?!-local)|build)\b(?!.*\b(keys|upload-keys)\b)/;

/**
 * Every row of the README's Colmena table, run as hive on the example hive: Colmena's command
 * line must be taken as it is (no usage error) and do its work. The example's hosts do not
 * exist, so a row that must reach them fails per node (exit 1), never as a usage error (exit 2).
 */
describe("the README's Colmena table", () => {
  const cwd = join(repoRoot, "examples/fleet");

  it("covers Colmena's commands, goals and flags", () => {
    const all = rows.map((r) => r.line).join(" ");
    for (const word of [
      "apply-local",
      "eval hostnames.nix",
      "upload-keys",
      "introspect",
      "gen-completions",
      "repl",
      "nix-info",
      "exec",
      "keys",
      "dry-activate",
      "push",
      "--reboot",
      "--no-substitutes",
      "--evaluator",
      "--eval-node-limit",
      "--force-replace-unknown-profiles",
      "--no-build-on-target",
      "--color",
      "--nix-option",
      "--impure",
      "--show-trace",
      "--legacy-flake-eval",
      "-p 0",
    ])
      expect(all, word).toContain(word);
  });

  it.each(rows)("runs `colmena $line`", async ({ line, meaning }) => {
    const argv = words(line);
    if (PLANS.test(line)) argv.push("--dry-run");
    // The example's nodes do not allow local deployment: apply-local plans the fixture's node that does.
    if (argv[0] === "apply-local")
      argv.splice(1, argv.length, "--node", "arm-1", "--dry-run", "-f", hiveFixture("fleet"));
    const result = await hive(argv, { cwd, input: "" });
    expect(result.stderr).not.toMatch(/Unknown argument|Invalid values|Not enough arguments|Unknown command/);
    expect([0, 1], `${result.stdout}\n${result.stderr}`).toContain(result.code);
    if (/note/.test(meaning)) expect(result.stderr).toMatch(/^hive: note: /m);
    else expect(result.stderr).not.toMatch(/^hive: note: /m);
  });

  it("makes boot the default goal with --reboot, as Colmena does", async () => {
    const result = await hive(["apply", "--reboot", "--on", "web-1", "--log-format", "plain"], { cwd });
    expect(result.stderr).toMatch(/^hive apply boot: 1 node$/m);
    const plain = await hive(["apply", "--on", "web-1", "--log-format", "plain"], { cwd });
    expect(plain.stderr).toMatch(/^hive apply switch: 1 node$/m);
  });

  it("takes goal keys as upload-keys", async () => {
    const result = await hive(["apply", "keys", "--on", "db", "--log-format", "plain"], { cwd });
    expect(result.stderr).toMatch(/^hive apply upload-keys: 1 node$/m);
  });
});
