import { join } from "node:path";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hive, hiveFixture } from "../support/hive-fixtures.js";

const errors = (name: string) => join(hiveFixture("errors"), name);

describe("evaluation errors, each clear and in the right place", () => {
  it("stops on a syntax error with one message naming the file and line (exit 3)", async () => {
    const result = await hive(["nodes"], { cwd: errors("syntax") });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /hive: error: evaluating .*syntax\/hive\.nix failed:\n\s+error: syntax error, unexpected '}'/,
    );
    expect(result.stderr).toMatch(/at .*syntax\/hive\.nix:3:\d+/);
    expect(result.stderr).not.toMatch(/\d+\|/); // no source excerpts without --show-trace
  });

  it("explains a missing meta.nixpkgs", async () => {
    const result = await hive(["nodes"], { cwd: errors("no-nixpkgs") });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/meta\.nixpkgs is not set and <nixpkgs> is not in the Nix search path/);
  });

  it("rejects unknown meta keys and meta together with network", async () => {
    const unknown = await hive(["nodes"], { cwd: errors("unknown-meta") });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/The option `meta\.allowApplyAl' does not exist/);
    expect(unknown.stderr).toMatch(/unknown-meta\/hive\.nix:4': false/);
    const both = await hive(["nodes"], { cwd: errors("meta-and-network") });
    expect(both.stderr).toMatch(/Only one of `network` and `meta` may be specified/);
  });

  it("fails a node with a wrong option type alone, naming node, option and file", async () => {
    const result = await hive(["nodes", "--json"], { cwd: errors("wrong-type") });
    expect(result.code).toBe(1);
    const rows = JSON.parse(result.stdout) as { name: string; error?: { code: string; message: string } }[];
    expect(rows.find((r) => r.name === "good")?.error).toBeUndefined();
    expect(rows.find((r) => r.name === "bad")?.error?.code).toBe("HIVE_NODE_EVAL_FAILED");
    expect(result.stderr).toMatch(
      /node bad: evaluation failed:\n\s+error: A definition for option `deployment\.targetPort' is not of type `null or unsigned integer/,
    );
    expect(result.stderr).toMatch(/wrong-type\/hive\.nix:5': "22"/);
  });

  it("names node and key when a key sets no source or two", async () => {
    const result = await hive(["nodes", "--json"], { cwd: errors("two-sources") });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node vault: evaluation failed/);
    expect(result.stderr).toMatch(
      /deployment\.keys\.empty must set exactly one of `text', `keyFile' and `keyCommand' \(it sets none\)/,
    );
    expect(result.stderr).toMatch(/deployment\.keys\.root-token must set exactly one .* \(it sets text, keyFile\)/);
    expect(result.stdout).toMatch(/"name": "fine"/);
    // The toplevel asserts it too, so a build can never ship such a node.
    const build = await hive(
      ["eval", "--instantiate", "-E", "{ nodes, ... }: nodes.vault.config.system.build.toplevel"],
      { cwd: errors("two-sources") },
    );
    expect(build.code).toBe(3);
    expect(build.stderr).toMatch(/Failed assertions:\s+- node `vault': deployment\.keys\.empty must set exactly one/);
  });

  it("refuses hostile node names and treats hostile tags as plain data", async () => {
    const result = await hive(["nodes"], { cwd: errors("hostile-name") });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/the hive has a node named "x; touch \/tmp\/hive-pwned", which hive will not deploy/);
    expect(existsSync("/tmp/hive-pwned")).toBe(false);
  });

  it("shows Nix's full trace with --show-trace", async () => {
    const short = await hive(["nodes", "--json"], { cwd: errors("wrong-type") });
    const traced = await hive(["nodes", "--json", "--show-trace"], { cwd: errors("wrong-type") });
    expect(short.stderr).not.toMatch(/while evaluating/);
    expect(traced.stderr).toMatch(/while evaluating/);
    expect(traced.stderr.length).toBeGreaterThan(short.stderr.length);
  });
});

describe("hostile tags", () => {
  it("select nodes as plain strings", async () => {
    const dir = hiveFixture("hostile-tags");
    for (const on of ["@$(touch /tmp/hive-pwned)", "@it's", "@two words", "@two*"]) {
      const result = await hive(["nodes", "--json", "--on", on], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect((JSON.parse(result.stdout) as { name: string }[]).map((r) => r.name)).toEqual(["web-1"]);
    }
    expect(existsSync("/tmp/hive-pwned")).toBe(false);
  });
});
