import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";

// The documented NDJSON schema (README, "NDJSON events"), as a CI script would rely on it.
const common = {
  v: z.literal(1),
  run: z.uuid(),
  time: z.iso.datetime(),
  level: z.enum(["info", "warn", "error"]),
};
const step = z.enum(["evaluate", "build", "connect", "push", "keys", "activate", "rollback", "reboot"]);
const outcome = z.enum(["succeeded", "unchanged", "failed", "skipped"]);
const event = z.discriminatedUnion("type", [
  z.object({ ...common, type: z.literal("step"), node: z.string(), step, detail: z.string().optional() }).strict(),
  z
    .object({
      ...common,
      type: z.literal("progress"),
      node: z.string(),
      step,
      bytes: z.number(),
      totalBytes: z.number().optional(),
    })
    .strict(),
  z.object({ ...common, type: z.literal("log"), node: z.string(), step, line: z.string() }).strict(),
  z
    .object({
      ...common,
      type: z.literal("build-progress"),
      node: z.string(),
      done: z.number().int().nonnegative(),
      total: z.number().int().nonnegative(),
      building: z.array(z.string()),
    })
    .strict(),
  z.object({ ...common, type: z.literal("warning"), node: z.string().optional(), message: z.string() }).strict(),
  z.object({ ...common, type: z.literal("transfer"), node: z.string(), from: z.string(), bytes: z.number() }).strict(),
  z
    .object({
      ...common,
      type: z.literal("node-done"),
      node: z.string(),
      outcome,
      step: step.optional(),
      message: z.string().optional(),
      code: z.string().optional(),
      hint: z.string().optional(),
      system: z.string().optional(),
      durationMs: z.number(),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.literal("summary"),
      durationMs: z.number(),
      succeeded: z.number(),
      unchanged: z.number(),
      failed: z.number(),
      skipped: z.number(),
      uplinkBytes: z.number(),
      peerBytes: z.number(),
      nodes: z.array(
        z
          .object({
            node: z.string(),
            outcome,
            step: step.optional(),
            code: z.string().optional(),
            hint: z.string().optional(),
            system: z.string().optional(),
          })
          .strict(),
      ),
    })
    .strict(),
]);

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("hive apply --log-format json", () => {
  const fleet = useFleet({ hosts: 2 });

  it("writes one schema-valid event per line, ending with a summary", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-ndjson-"));
    dirs.push(dir);
    await writeFile(
      join(dir, "hive.nix"),
      `{ meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; }; h1 = { }; h2 = { system.activationScripts.fail = "exit 3"; }; }\n`,
    );
    const result = await hive(["apply", "--log-format", "json"], {
      cwd: dir,
      env: { SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" },
    });
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split("\n");
    const events = lines.map((line) => event.parse(JSON.parse(line)));
    expect(new Set(events.map((e) => e.run)).size).toBe(1);
    const times = events.map((e) => Date.parse(e.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const summary = events.at(-1);
    expect(summary).toMatchObject({ type: "summary", succeeded: 1, failed: 1 });
    expect(events.filter((e) => e.type === "summary")).toHaveLength(1);
    const failed = events.find((e) => e.type === "node-done" && e.node === "h2");
    expect(failed).toMatchObject({
      level: "error",
      outcome: "failed",
      step: "activate",
      code: "HIVE_ACTIVATION_FAILED",
    });
    expect(events.some((e) => e.type === "step" && e.node === "h1" && e.step === "push")).toBe(true);
  });

  it("writes GitHub Actions groups and an error annotation with --log-format github", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-github-"));
    dirs.push(dir);
    await writeFile(
      join(dir, "hive.nix"),
      `{ meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; }; h1 = { environment.etc.gh.text = "1"; }; h2 = { system.activationScripts.fail = "echo broken >&2; exit 3"; }; }\n`,
    );
    const result = await hive(["apply", "--log-format", "github"], {
      cwd: dir,
      env: { SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::group::h1: succeeded\n[\s\S]*?^::endgroup::$/m);
    expect(result.stdout).toMatch(/^::group::h2: failed$/m);
    expect(result.stdout).toMatch(
      /^::error title=hive%3A h2 failed at activate::node h2: activate: switch-to-configuration switch exited with 3.*%0Abroken/m,
    );
  });
});
