import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { HiveError, isHiveError, type NodeName, type StorePath } from "@hive/core";
import {
  ACTIVATION_RUNNER,
  CONFIRM_ACTIVATION,
  POLL_ACTIVATION,
  START_ACTIVATION,
  STOP_ACTIVATION,
  WAIT_ACTIVATION,
} from "./activation-scripts.js";
import { ACTIVATION_DIR, LOCK_FILE, parseGeneration } from "./host-paths.js";
import type { CheckFailure } from "./health-checks.js";
import type { Host } from "./host.js";

/** How long a stopped or restarted activation may take to restore the previous system. */
const RESTORE_GRACE_MS = 120_000;
/** The longest a poll waits on the host for the runner to move on (then hive checks its deadlines). */
const HOST_WAIT_MS = 5_000;
const hostWaitSteps = (deadline: number) => Math.max(1, Math.floor(Math.min(HOST_WAIT_MS, deadline - Date.now()) / 20));

export type Action = "switch" | "boot" | "test" | "dry-activate";

export interface ActivationPlan {
  system: StorePath;
  action: Action;
  /** Set the system profile first (switch, boot). */
  setProfile: boolean;
  /** What to restore on failure: the profile's generation and its system (or, for test, the running system). */
  previous: { generation: number | undefined; system: string | undefined };
  /**
   * Magic rollback: seconds the host waits, after a successful activation, for hive to confirm it
   * over a new connection before it restores the previous system itself; 0 for none.
   */
  confirmSeconds: number;
  /** Confirm over a new connection (magic rollback); otherwise over the one in use (health checks alone). */
  reconnect: boolean;
  /**
   * Goal boot before a reboot, with magic rollback: arm the boot watch (on hosts run by systemd),
   * which waits confirmSeconds from the next boot for hive's confirmation instead of waiting now.
   */
  bootWatch?: boolean;
  /** Once the activation armed the boot watch: its files on the host start with this. */
  watchBase?: string;
}

export type Rollback = "none" | "ok" | "unavailable" | { failed: string };

/** Why an activation did not simply run to its end. */
export type Interruption = "timeout" | "aborted" | "gone" | "rebooted" | "stopped";

export interface ActivationResult {
  /** switch-to-configuration's exit code (or nix-env's, if setting the profile failed); null if it never ended. */
  exitCode: number | null;
  rollback: Rollback;
  interruption: Interruption | undefined;
  /** Magic rollback: hive could not confirm in time (and why), so the host restored the previous system. */
  unconfirmed: { reason: string } | undefined;
  /** A health check failed after the activation, so hive rejected it and the host restored. */
  checkFailed: CheckFailure | undefined;
  /** The host after it all. */
  current: string | undefined;
  profile: string | undefined;
  generation: number | undefined;
  log: string;
  /** Where the log stays on the host. */
  logPath: string;
  /** The boot watch is armed: its files on the host, after the reboot, start with this. */
  watchBase: string | undefined;
}

export interface ActivateOptions {
  /** Stop and restore after this long (--activation-timeout). */
  timeoutMs: number;
  /** Give up on a host that cannot be reached for this long while it activates. */
  unreachableMs: number;
  /** One call per change of state (connection lost, back). */
  onWaiting?: (message: string) => void;
  /** What went as planned, for the log. */
  onLog?: (line: string) => void;
  /**
   * Health checks, run once the activation succeeded and before it is confirmed; `base` names the
   * activation's files on the host, `systemd` says whether the host runs systemd.
   */
  check?: (activation: { base: string; systemd: boolean }) => Promise<CheckFailure | undefined>;
}

type Poll =
  | { state: "running" | "activated" | "gone" | "rebooted" }
  | {
      state: "done";
      exitCode: number | null;
      rollback: Rollback;
      stopped: boolean;
      unconfirmed: boolean;
      watched: boolean;
      current: string | undefined;
      profile: string | undefined;
      generation: number | undefined;
      log: string;
    };

function parsePoll(stdout: string): Poll {
  const [head = "", ...rest] = stdout.split("\n---\n");
  const lines = head.split("\n");
  const state = /^state=(\w+)$/.exec(lines[0] ?? "")?.[1];
  if (state === "running" || state === "activated" || state === "gone" || state === "rebooted") return { state };
  const status =
    /^hive-activation rc=(-|\d+) rollback=(\S+) stopped=([01]) unconfirmed=([01])(?: watch=(\w+))? end$/.exec(
      lines[1] ?? "",
    );
  if (state !== "done" || status === null) throw new Error(`unexpected answer from the activation poll: ${stdout}`);
  const field = (name: string) => lines.find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) || undefined;
  const rollback = status[2] ?? "none";
  return {
    state,
    exitCode: status[1] === "-" || status[1] === undefined ? null : Number(status[1]),
    rollback: rollback === "none" || rollback === "ok" || rollback === "unavailable" ? rollback : { failed: rollback },
    stopped: status[3] === "1",
    unconfirmed: status[4] === "1",
    watched: status[5] === "armed",
    current: field("current"),
    profile: field("profile"),
    generation: parseGeneration(field("generation")),
    log: rest.join("\n---\n"),
  };
}

/**
 * Runs an activation on the host, detached from the SSH session, and waits for its result. The
 * host restores the previous system itself when the activation fails or is stopped (timeout,
 * Ctrl-C twice), so a dropped connection or a dead deployer cannot leave it half-switched. A
 * runner that vanishes (power cut, killed) or a host that reboots under it is noticed at the next
 * poll, and hive restores the previous system then.
 */
export async function activate(
  host: Host,
  plan: ActivationPlan,
  options: ActivateOptions,
  mode: "activate" | "rollback" = "activate",
): Promise<ActivationResult> {
  const node = host.node;
  let deadline = Date.now() + options.timeoutMs;
  // Started, and waited for on the host until it activated or ended: one round trip when all goes well.
  const started = await startRunner(host, mode, plan, hostWaitSteps(deadline));
  let answered = started.poll;
  let interruption: Interruption | undefined;
  let unreachableSince: number | undefined;
  let base = started.base;
  let boot = started.boot;
  let confirmed = false;
  let checkFailed: CheckFailure | undefined;
  let unreachableWhy = "";
  const stop = async (why: Interruption) => {
    interruption = why;
    deadline = Date.now() + RESTORE_GRACE_MS;
    // A connection that is down now is retried by the polls; the runner is stopped once it is back.
    await host
      .exec(["sh", "-c", STOP_ACTIVATION, "hive-stop", base], { privileged: true, signal: null })
      .catch(() => undefined);
  };
  for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
    if (interruption === undefined && host.signal?.aborted) await stop("aborted");
    if (Date.now() > deadline) {
      if (interruption === undefined) await stop("timeout");
      else throw lostTrack(node, base, interruption, options);
    }
    let poll: Poll;
    // A wait on the host ends at the first Ctrl-C (to stop the activation); polls after it go on
    // regardless: the host is restoring the previous system, and hive reports it.
    const waitSignal = interruption === undefined ? host.signal : undefined;
    try {
      const answer =
        answered ??
        (
          await host.run(
            "activate",
            ["sh", "-c", WAIT_ACTIVATION, "hive-wait", base, boot, String(hostWaitSteps(deadline))],
            { privileged: true, signal: waitSignal ?? null, waits: true },
          )
        ).stdout;
      answered = undefined;
      poll = parsePoll(answer);
      if (poll.state === "activated" && !confirmed) {
        // Proof that the deployer can still get in: a connection made after the activation, and
        // the health checks passing. The same command answers as a poll once the runner has
        // taken the answer in.
        if (plan.reconnect) await host.reconnect();
        checkFailed ??= await options.check?.({ base, systemd: started.systemd });
        const verdict = checkFailed === undefined ? "confirm" : "reject";
        const confirmation = await host.run(
          "activate",
          ["sh", "-c", CONFIRM_ACTIVATION, "hive-confirm", base, boot, verdict],
          { privileged: true, signal: null },
        );
        confirmed = true;
        options.onLog?.(
          verdict === "confirm"
            ? `confirmed the new system${plan.reconnect ? " over a new connection" : ""}`
            : `health check ${checkFailed?.name ?? "?"} failed: rejected the new system`,
        );
        poll = parsePoll(confirmation.stdout);
        wait = 25;
      }
      if (unreachableSince !== undefined) options.onWaiting?.("reconnected; the activation is still being followed");
      unreachableSince = undefined;
    } catch (error) {
      if (waitSignal?.aborted === true) continue;
      // The connection dropped (the activation may restart sshd or the network), or the new system
      // keeps hive out (its keys changed): retry; the host restores itself if it is not confirmed.
      if (!isHiveError(error) || !/^HIVE_SSH_(DISCONNECTED|CONNECT_FAILED|AUTH_FAILED)$/.test(error.code)) throw error;
      unreachableWhy = error.message;
      const now = Date.now();
      if (unreachableSince === undefined) {
        unreachableSince = now;
        options.onWaiting?.(`lost the connection (${error.message}); the activation goes on, reconnecting`);
      } else if (now - unreachableSince > options.unreachableMs) {
        throw new HiveError(
          "HIVE_ACTIVATION_FAILED",
          `node ${node}: activate: the host has not answered for ${Math.round((now - unreachableSince) / 1000)} s while it activated (${error.message}); what it runs now is unknown`,
          {
            hint: `if it comes back, it restores its previous system by itself should the activation fail; hive status --on ${node} shows what it runs, and ${base}.log on the host has the activation's output`,
          },
        );
      }
      await sleep(Math.min(1000, wait * 4));
      continue;
    }
    if (poll.state === "done") {
      return {
        exitCode: poll.exitCode,
        rollback: poll.rollback,
        // Stopped on the host by someone else than hive (a shutdown's SIGTERM, an operator).
        interruption: interruption ?? (poll.stopped ? "stopped" : undefined),
        unconfirmed:
          poll.unconfirmed && checkFailed === undefined
            ? { reason: unreachableWhy || "no confirmation arrived" }
            : undefined,
        checkFailed: poll.unconfirmed ? checkFailed : undefined,
        current: poll.current,
        profile: poll.profile,
        generation: poll.generation,
        log: poll.log,
        logPath: `${base}.log`,
        watchBase: poll.watched ? `${base}.boot` : undefined,
      };
    }
    if (poll.state === "gone" || poll.state === "rebooted") {
      if (interruption !== undefined && interruption !== "timeout" && interruption !== "aborted")
        throw lostTrack(node, base, interruption, options);
      // The activation can no longer finish: restore the previous system from here.
      interruption = poll.state;
      options.onWaiting?.(
        poll.state === "gone"
          ? "the activation's process is gone without a result (killed, or the host lost power); restoring the previous system"
          : "the host rebooted during the activation; restoring the previous system",
      );
      const restarted = await startRunner(host, "rollback", plan);
      base = restarted.base;
      boot = restarted.boot;
      deadline = Date.now() + RESTORE_GRACE_MS;
      continue;
    }
    await sleep(wait);
  }
}

/** What the boot watch did, read after the reboot. */
export type BootWatchState =
  | { state: "running" | "activated" | "gone" | "rebooted" }
  | { state: "done"; unconfirmed: boolean; rollback: Rollback; current: string | undefined; log: string };

/**
 * After the reboot, over the new connection: confirms the boot watch (or rejects it: a health
 * check failed, restore now) and returns what it did, or only asks (`verdict` poll).
 */
export async function answerBootWatch(
  host: Host,
  watchBase: string,
  boot: string,
  verdict: "confirm" | "reject" | "poll",
): Promise<BootWatchState> {
  const argv =
    verdict === "poll"
      ? ["sh", "-c", POLL_ACTIVATION, "hive-poll", watchBase, boot]
      : ["sh", "-c", CONFIRM_ACTIVATION, "hive-confirm", watchBase, boot, verdict];
  const poll = parsePoll((await host.run("reboot", argv, { privileged: true, signal: null })).stdout);
  if (poll.state !== "done") return poll;
  return {
    state: "done",
    unconfirmed: poll.unconfirmed,
    rollback: poll.rollback,
    current: poll.current,
    log: poll.log,
  };
}

async function startRunner(
  host: Host,
  mode: "activate" | "rollback",
  plan: ActivationPlan,
  waitSteps = 0,
): Promise<{ base: string; boot: string; systemd: boolean; poll: string | undefined }> {
  const id = randomUUID();
  const chunks: Buffer[] = [];
  const output = () => Buffer.concat(chunks).toString();
  const started = host.run(
    mode === "activate" ? "activate" : "rollback",
    [
      "sh",
      "-c",
      START_ACTIVATION,
      "hive-start-activation",
      ACTIVATION_DIR,
      id,
      mode,
      plan.system,
      plan.action,
      plan.setProfile ? "1" : "0",
      plan.previous.generation === undefined ? "-" : String(plan.previous.generation),
      plan.previous.system ?? "-",
      LOCK_FILE,
      ACTIVATION_RUNNER,
      String(mode === "activate" ? plan.confirmSeconds : 0),
      mode === "activate" && plan.bootWatch === true ? "1" : "0",
      String(waitSteps),
    ],
    // A rollback starts even when the run is aborted: it is how an aborted activation ends.
    {
      privileged: true,
      onStdout: (chunk) => chunks.push(chunk),
      waits: true,
      ...(mode === "rollback" ? { signal: null } : {}),
    },
  );
  let complete = true;
  try {
    await started;
  } catch (error) {
    // Cut off or interrupted while waiting for the runner it had started (it printed the boot
    // id): the polls follow it (reconnecting, or stopping it), as after any dropped connection.
    const cutOff = (isHiveError(error) && error.code === "HIVE_SSH_DISCONNECTED") || host.signal?.aborted === true;
    if (!cutOff || !/^boot=/m.test(output())) throw error;
    complete = false;
  }
  const [head, answer] = splitOnce(output(), "--- poll ---\n");
  // An answer cut short is no answer: the next poll asks again.
  const poll = complete ? answer : undefined;
  const boot = /^boot=(.+)$/m.exec(head)?.[1]?.trim() ?? "";
  return { base: `${ACTIVATION_DIR}/${id}`, boot, systemd: /^systemd=1$/m.test(head), poll };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

function lostTrack(node: NodeName, base: string, why: Interruption, options: ActivateOptions): HiveError {
  const what =
    why === "timeout"
      ? `was stopped after ${Math.round(options.timeoutMs / 1000)} s (--activation-timeout) and did not report back`
      : why === "aborted"
        ? "was stopped (interrupted) and did not report back"
        : "ended without a result, and restoring the previous system did not report back either";
  return new HiveError(
    "HIVE_ACTIVATION_FAILED",
    `node ${node}: activate: the activation ${what}; what the host runs now is unknown`,
    {
      hint: `hive status --on ${node} shows what it runs; ${base}.log on the host has the output`,
    },
  );
}
