import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect } from "vitest";
import { miniNixpkgsPath, type Testbed } from "@hive/testbed";
import { hiveBin } from "../support/paths.js";

/**
 * What every fault scenario shares: hives written for the fleet, hive run as a user runs it (a
 * process of its own, signals and all), and the invariants checked after each fault.
 */

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A hive with one node per entry: its module's text (with `pkgs` and `lib` in scope). */
export async function writeHive(nodes: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-faults-"));
  dirs.push(dir);
  const body = Object.entries(nodes)
    .map(([name, module]) => `  ${name} = { pkgs, lib, ... }: { ${module} };`)
    .join("\n");
  await writeFile(
    join(dir, "hive.nix"),
    `{\n  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };\n${body}\n}\n`,
  );
  return dir;
}

/** A key that is nobody's: a configuration that authorizes only it locks the deployer out. */
export const STRANGER_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZ1c2VyLWtleS10aGF0LWlzLW5vYm9keXMtYXQtYWxsMA stranger";

/** A module that authorizes exactly these keys for root, as a NixOS host's configuration does. */
export const rootKeys = (...keys: string[]) =>
  `users.users.root.openssh.authorizedKeys.keys = [ ${keys.map((k) => JSON.stringify(k)).join(" ")} ];`;

/** An activation snippet that marks its start on the host (/run/started-TAG), then sleeps. */
export const slowActivation = (seconds: number, tag: string) =>
  `system.activationScripts.slow = "touch /run/started-${tag}; sleep ${seconds}";`;
export const failingActivation = (code = 4) =>
  `system.activationScripts.broken = "echo broken-on-purpose >&2; exit ${code}";`;

export interface HiveRun {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Signals hive alone. */
  signal: (signal: NodeJS.Signals) => void;
  /** Signals hive's whole process group, as a terminal's Ctrl-C does. */
  signalGroup: (signal: NodeJS.Signals) => void;
}

export function hiveEnv(fleet: Testbed): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SSH_CONFIG_FILE: fleet.sshConfigPath,
    SSH_AUTH_SOCK: "",
    NIX_CONFIG: "substituters =",
    NIX_PATH: "",
  };
}

/** Starts hive in a process group of its own (as a shell's job), collecting its output. */
export function startHive(fleet: Testbed, dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): HiveRun {
  return startHiveWith(dir, args, { ...hiveEnv(fleet), ...env });
}

/** Starts hive with this environment (added to this process's). */
export function startHiveWith(dir: string, args: readonly string[], env: NodeJS.ProcessEnv): HiveRun {
  const child = spawn(process.execPath, [hiveBin, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + 15 : null))),
  );
  const pid = child.pid ?? 0;
  return {
    pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    signal: (s) => child.kill(s),
    signalGroup: (s) => process.kill(-pid, s),
  };
}

/** Runs hive to its end. */
export function runHive(
  fleet: Testbed,
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return finished(startHive(fleet, dir, args, env));
}

/** Runs hive to its end, with this environment (added to this process's). */
export function runHiveWith(
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return finished(startHiveWith(dir, args, env));
}

async function finished(run: HiveRun): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits until a host has started the slow activation tagged `tag`. */
export function activationStarted(fleet: Testbed, host: string, tag: string): Promise<void> {
  return waitFor(
    `${host} to start activating ${tag}`,
    async () => (await fleet.host(host).run(["test", "-e", `/run/started-${tag}`])).code === 0,
  );
}

/** Kills every process of a host at once (SIGKILL): a power cut, with no time to react. */
export async function cutPower(fleet: Testbed, host: string): Promise<void> {
  await fleet.host(host).cutPower();
  await waitFor(`${host} to go down`, async () => (await fleet.host(host).processes()).length === 0);
}

/** The system a summary line reports as deployed. */
export function systemOf(stdout: string, node: string): string | undefined {
  return new RegExp(`^${node}: (?:succeeded|unchanged) \\((?:already running )?(/nix/store/[^)]+)\\)$`, "m").exec(
    stdout,
  )?.[1];
}

/** Deploys a good system of its own to a host (the "before" of a fault) and returns it. */
export async function baseline(fleet: Testbed, host: string): Promise<string> {
  const dir = await writeHive({ [host]: `environment.etc.base.text = "${host}-${Date.now()}";` });
  const result = await runHive(fleet, dir, ["apply", "--on", host]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const system = systemOf(result.stdout, host);
  if (system === undefined) throw new Error(`no system for ${host}:\n${result.stdout}`);
  return system;
}

/** The lines of `--log-format json` output, parsed. */
export function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** What each host runs now. */
export async function currentSystems(
  fleet: Testbed,
  hosts: readonly string[],
): Promise<Map<string, string | undefined>> {
  return new Map(await Promise.all(hosts.map(async (n) => [n, await fleet.host(n).currentSystem()] as const)));
}

/** The last hive history record on a host. */
export async function lastRecord(fleet: Testbed, host: string): Promise<Record<string, unknown> | undefined> {
  const result = await fleet.host(host).run(["sh", "-c", "tail -n 1 /nix/var/hive/history.jsonl 2>/dev/null"]);
  const line = result.stdout.trim();
  return line === "" ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

/**
 * The invariants after any fault: hive ended with a documented exit code and its summary (one
 * line per node); every host runs and boots either its old or its new system, as hive reported
 * it; the host's last history record agrees.
 */
export async function expectInvariants(
  fleet: Testbed,
  run: { code: number | null; stdout: string; stderr: string },
  hosts: Record<string, { before: string | undefined; wanted: string | undefined }>,
): Promise<void> {
  expect([0, 1, 2, 3, 130], run.stderr).toContain(run.code);
  expect(run.stderr).not.toMatch(/Unhandled|ExecaError|TypeError|at .*\.js:\d+/);
  for (const [node, { before, wanted }] of Object.entries(hosts)) {
    const line = new RegExp(`^${node}: (succeeded|unchanged|failed|skipped)`, "m").exec(run.stdout);
    expect(line, `no summary line for ${node} in:\n${run.stdout}\n${run.stderr}`).not.toBeNull();
    const outcome = line?.[1];
    const host = fleet.host(node);
    const current = await host.currentSystem();
    const profile = await host.profileSystem();
    if (outcome === "succeeded" || outcome === "unchanged") {
      expect(current, `${node} reported ${outcome}`).toBe(wanted);
      expect(profile, `${node} reported ${outcome}`).toBe(wanted);
    } else {
      expect(current, `${node} reported ${outcome}: it runs its old system`).toBe(before);
      expect(profile, `${node} reported ${outcome}: it boots its old system`).toBe(before);
    }
    const record = await lastRecord(fleet, node);
    if (outcome === "succeeded") expect(record).toMatchObject({ system: wanted, outcome: "succeeded" });
    if (outcome === "failed" && record !== undefined && record["system"] === wanted)
      expect(record["outcome"]).not.toBe("succeeded");
  }
}
