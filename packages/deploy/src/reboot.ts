import { setTimeout as sleep } from "node:timers/promises";
import { HiveError, isHiveError, type StorePath } from "@hive/core";
import type { Host } from "./host.js";
import { answerBootWatch, type BootWatchState } from "./activator.js";
import { DISARM_BOOT_WATCH } from "./activation-scripts.js";
import type { CheckFailure } from "./health-checks.js";

/** The boot watch armed by a goal-boot activation (magic rollback across the reboot). */
export interface BootWatch {
  /** Its files on the host. */
  base: string;
  /** How long it waits, from the boot, for hive's confirmation. */
  confirmSeconds: number;
  /** The node's health checks, run on the new system before hive confirms it. */
  check: () => Promise<CheckFailure | undefined>;
  onLog: (line: string) => void;
}

const BOOT_ID = "/proc/sys/kernel/random/boot_id";

// The reboot starts a moment later, in the background, so that this command returns first. The
// new system's tools come first: with goal boot, the running system may have none.
const REBOOT = `PATH="$1/sw/bin:/run/current-system/sw/bin:$PATH"; (sleep 1; reboot) < /dev/null > /dev/null 2>&1 &`;

/**
 * Reboots a node and waits (up to a timeout) until it answers with a new boot id, then checks it
 * booted the system just deployed.
 */
export async function rebootAndWait(
  host: Host,
  system: StorePath,
  options: { timeoutMs: number; onWaiting?: (message: string) => void; watch?: BootWatch },
): Promise<void> {
  const node = host.node;
  const before = (await host.run("reboot", ["cat", BOOT_ID])).stdout.trim();
  await host.run("reboot", ["sh", "-c", REBOOT, "hive-reboot", system], { privileged: true });
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "the host still runs the same boot";
  for (let wait = 250; Date.now() < deadline; wait = Math.min(wait * 2, 2000)) {
    host.signal?.throwIfAborted();
    await sleep(wait);
    try {
      const now = (await host.exec(["cat", BOOT_ID])).stdout.trim();
      if (now !== "" && now !== before) {
        const running = await host.readLink("/run/current-system");
        if (options.watch !== undefined)
          return await settleBootWatch(host, system, running, now, options.watch, lastError);
        if (running !== system) throw bootedOther(node, running, system);
        return;
      }
    } catch (error) {
      if (!isHiveError(error) || !error.code.startsWith("HIVE_SSH_")) throw error;
      lastError = error.message;
      options.onWaiting?.(`waiting for the host to come back (${error.message})`);
    }
  }
  throw new HiveError(
    "HIVE_ACTIVATION_FAILED",
    `node ${node}: reboot: no new boot id after ${Math.round(options.timeoutMs / 1000)} s (${lastError})`,
    {
      hint: "raise --reboot-timeout for slow machines, or check the host's console",
    },
  );
}

/**
 * Back on the host after the reboot, over a new connection: the proof hive can get in. If it runs
 * the new system, its health checks decide: hive confirms the watch, or rejects it and the host
 * restores the previous system at once. If it runs another, the watch may have restored it
 * already because hive could not get in within the window: the node fails saying so.
 */
async function settleBootWatch(
  host: Host,
  system: StorePath,
  running: string | undefined,
  boot: string,
  watch: BootWatch,
  lastError: string,
): Promise<void> {
  const node = host.node;
  const failure = running === system ? await watch.check() : undefined;
  const verdict = running !== system ? "poll" : failure === undefined ? "confirm" : "reject";
  // The watch is a unit of the boot: it may start after sshd, so hive waits for its answer.
  const deadline = Date.now() + (watch.confirmSeconds + 30) * 1000;
  let answer: BootWatchState = await answerBootWatch(host, watch.base, boot, verdict);
  while (answer.state !== "done" && Date.now() < deadline) {
    await sleep(500);
    answer = await answerBootWatch(host, watch.base, boot, "poll");
  }
  await host.exec(["sh", "-c", DISARM_BOOT_WATCH], { privileged: true }).catch(() => undefined);
  for (const line of answer.state === "done" ? answer.log.split("\n") : []) if (line !== "") watch.onLog(line);
  if (answer.state !== "done")
    throw new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: reboot: the boot watch did not answer (${answer.state}); the host runs ${running ?? "no system"}`,
      { hint: `${watch.base}.log on the host says what the watch did` },
    );
  if (verdict === "confirm" && !answer.unconfirmed) {
    watch.onLog(`confirmed ${system} after the reboot, over a new connection`);
    return;
  }
  const now = `the host ${answer.rollback === "ok" ? "restored its previous system" : `could not restore its previous system (${typeof answer.rollback === "object" ? answer.rollback.failed : answer.rollback})`} and runs ${answer.current ?? "no system"}`;
  if (failure !== undefined)
    throw new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: reboot: health check ${failure.name} failed on ${system} after the reboot: ${failure.output}; ${now}`,
    );
  if (answer.unconfirmed && answer.rollback === "none")
    throw new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: reboot: the boot watch kept nothing: it found the host running ${running ?? "no system"}, not ${system}`,
      { hint: `${watch.base}.log on the host says what the watch saw` },
    );
  if (running !== system && answer.unconfirmed && answer.rollback !== "none")
    throw new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: reboot: ${system} was not confirmed within ${watch.confirmSeconds} s of booting: hive could not get back in (${lastError}); ${now}`,
      {
        hint: "the new system's SSH settings (keys, firewall, sshd) kept hive out; the previous generation is running again",
      },
    );
  throw bootedOther(node, running, system);
}

function bootedOther(node: string, running: string | undefined, system: StorePath): HiveError {
  return new HiveError(
    "HIVE_ACTIVATION_FAILED",
    `node ${node}: reboot: the host booted ${running ?? "no system"}, not ${system}`,
    {
      hint: "is the boot loader set to the system profile? (deploy with goal boot or switch)",
    },
  );
}
