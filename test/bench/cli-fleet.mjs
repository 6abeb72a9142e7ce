// What the CLI benchmarks share: a hive whose hosts each have their own system (a shared base
// plus per-host paths, as real fleets look), the `hive` CLI run as users run it (timed, with its
// process tree's CPU and peak memory), hosts reset to a fresh install, and where hive's time went
// from its own NDJSON events.
import { Buffer } from "node:buffer";
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { nixEnvironment, writePayloadHive } from "../../packages/testbed/dist/index.js";

const run = promisify(execFile);
// The bundle users install (packages/hive, made by `pnpm bench`), else the workspace's build.
const bundled = new URL("../../packages/hive/dist/hive.mjs", import.meta.url).pathname;
const hiveBin = existsSync(bundled) ? bundled : new URL("../../packages/cli/dist/main.js", import.meta.url).pathname;

/** A hive.nix for `names`: `shared` paths every host has, `perHost` paths of its own, `nodeExtra(name)` more settings. */
export function fleetHive(
  names,
  { shared = { paths: 100, bytes: 300 * 1024 }, perHost, seed = "bench", nodeExtra = () => "" } = {},
) {
  return writePayloadHive(names, {
    shared,
    perHost: perHost ?? { paths: 4, bytes: 300 * 1024 },
    seed,
    nodeExtra,
    prefix: "hive-bench-cli-",
  });
}

/** The environment a user of this fleet has: its ssh_config, no agent, no binary cache, no NIX_PATH. */
export function userEnv(fleet) {
  const nix = nixEnvironment();
  return {
    ...nix,
    SSH_CONFIG_FILE: fleet.sshConfigPath,
    SSH_AUTH_SOCK: "",
    NIX_CONFIG: `${nix.NIX_CONFIG ?? ""}\nsubstituters =`,
    NIX_PATH: "",
    NIX_SSHOPTS: `-F ${fleet.sshConfigPath}`,
  };
}

/**
 * CPU time this whole machine has spent busy (all cores, every process: hive or the baseline, and
 * the testbed's hosts alike), from /proc/stat, in ms.
 */
function machineBusyMs() {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * Runs `cmd ARGS` under GNU time and resolves with its wall time, its process tree's CPU and peak
 * RSS, the whole machine's CPU meanwhile (the tree's plus the hosts'), and its stdout. A failed
 * run rejects with its output.
 */
function timed(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const busy = machineBusyMs();
    const start = performance.now();
    const startedAt = Date.now();
    const child = spawn("/usr/bin/time", ["-f", "hive-bench-rusage %U %S %M", cmd, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = [];
    const err = [];
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.on("data", (c) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      const machineCpuMs = machineBusyMs() - busy;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`));
      const usage = /hive-bench-rusage (\S+) (\S+) (\d+)/.exec(stderr);
      resolve({
        ms,
        cpuMs: usage ? (Number(usage[1]) + Number(usage[2])) * 1000 : NaN,
        peakRss: usage ? Number(usage[3]) * 1024 : NaN,
        machineCpuMs,
        stdout,
        startedAt,
      });
    });
  });
}

/** Runs `hive ARGS -f DIR` as a user of this fleet would (see `timed` for what it resolves with). */
export function timedHive(fleet, dir, args) {
  return timed(process.execPath, [hiveBin, ...args, "-f", dir], userEnv(fleet));
}

/** Each node's system (out path), from `hive eval`. */
export async function systemsOf(fleet, dir) {
  const { stdout } = await run(
    process.execPath,
    [
      hiveBin,
      "eval",
      "-f",
      dir,
      "-E",
      "{ nodes, lib, ... }: lib.mapAttrs (_: n: n.config.system.build.toplevel.outPath) nodes",
    ],
    { env: userEnv(fleet), maxBuffer: 1 << 26 },
  );
  return JSON.parse(stdout);
}

/** Back to a fresh install: no profile, no current system, no history, nothing in the store. */
export async function resetHosts(fleet, names) {
  await Promise.all(
    names.map((n) =>
      fleet
        .host(n)
        .run([
          "sh",
          "-c",
          "rm -rf /nix/var/nix/profiles/system* /run/current-system /nix/var/hive && nix-collect-garbage > /dev/null 2>&1",
        ]),
    ),
  );
}

/** A script deploying one host without hive: `nix copy`, then set the profile and switch over ssh. */
export async function copyAndSwitchScript(fleet) {
  const script = join(fleet.dir, "copy-and-switch.sh");
  await writeFile(
    script,
    `set -e\nnix copy --to "ssh://$1" "$2"\nssh -F ${fleet.sshConfigPath} "$1" "nix-env -p /nix/var/nix/profiles/system --set $2 && $2/bin/switch-to-configuration switch"\n`,
  );
  return script;
}

/** Runs a shell script as a user of this fleet would (see `timed` for what it resolves with). */
export function timedShell(fleet, script) {
  return timed("sh", ["-c", script], userEnv(fleet));
}

/**
 * Where a run's time went, from its NDJSON events: evaluation (from the process's start to the
 * first node's first step), then per node the time in each step (median over nodes).
 */
export function phases({ stdout: ndjson, startedAt }) {
  const events = ndjson
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const at = (e) => Date.parse(e.time);
  const steps = events.filter((e) => e.type === "step" || e.type === "node-done");
  const byNode = new Map();
  for (const e of steps) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e]);
  const per = {};
  let evaluated = Infinity;
  for (const list of byNode.values()) {
    if (list[0]) evaluated = Math.min(evaluated, at(list[0]));
    for (let i = 0; i + 1 < list.length; i++) {
      const step = list[i].step;
      (per[step] ??= []).push(at(list[i + 1]) - at(list[i]));
    }
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const parts = [`evaluate ${Number.isFinite(evaluated) ? evaluated - startedAt : 0} ms`];
  for (const [step, values] of Object.entries(per)) parts.push(`${step} ${median(values)} ms`);
  return parts.join(", ");
}
