import { setTimeout as sleep } from "node:timers/promises";
import type { HealthCheck } from "@hive/core";
import type { Host } from "./host.js";
import { FAILED_UNITS_CHECK } from "./activation-scripts.js";

/**
 * The built-in check of a host run by systemd (deployment.checkFailedUnits, on unless set
 * false): no unit has failed since the activation of `base` began. Units that had failed before
 * are not the new system's doing and do not count. Retried, as units may fail a moment later.
 */
export function failedUnitsCheck(base: string): HealthCheck {
  return {
    name: "failed-units",
    cmd: ["sh", "-c", FAILED_UNITS_CHECK, "hive-failed-units", base],
    http: null,
    from: "host",
    status: 0,
    body: null,
    timeout: 10,
    retries: 2,
    interval: 2,
    initialDelay: 1,
  };
}

export interface CheckFailure {
  name: string;
  /** What the last attempt said: the command's output, the HTTP status and body, or the error. */
  output: string;
}

/** Seconds a list of checks may take at most: delays, attempts and the waits between them. */
export function checksBudgetSeconds(checks: readonly HealthCheck[]): number {
  return checks.reduce((sum, c) => sum + c.initialDelay + (c.retries + 1) * (c.timeout + c.interval), 0);
}

const tail = (text: string) => text.trim().split("\n").slice(-10).join("\n");

async function attempt(host: Host, check: HealthCheck): Promise<{ ok: boolean; output: string }> {
  const timeout = AbortSignal.timeout(check.timeout * 1000);
  const signal = host.signal ? AbortSignal.any([host.signal, timeout]) : timeout;
  try {
    if (check.cmd !== null) {
      const r = await host.exec(check.cmd, { signal });
      return { ok: r.exitCode === 0, output: `exit ${r.exitCode ?? r.signal ?? "?"}: ${tail(r.stdout + r.stderr)}` };
    }
    const url = check.http ?? "";
    if (check.from === "host") {
      const r = await host.exec(
        ["curl", "--silent", "--show-error", "--max-time", String(check.timeout), "--write-out", "\n%{http_code}", url],
        { signal },
      );
      const lines = r.stdout.split("\n");
      const status = Number(lines.pop());
      const body = lines.join("\n");
      if (r.exitCode !== 0) return { ok: false, output: `curl on the host: ${tail(r.stderr) || `exit ${r.exitCode}`}` };
      return judge(check, status, body);
    }
    const response = await fetch(url, { signal });
    return judge(check, response.status, await response.text());
  } catch (error) {
    const message = timeout.aborted ? `no answer within ${check.timeout} s` : (error as Error).message;
    return { ok: false, output: message };
  }
}

function judge(check: HealthCheck, status: number, body: string): { ok: boolean; output: string } {
  const ok = status === check.status && (check.body === null || body.includes(check.body));
  return {
    ok,
    output: `HTTP ${status}${status !== check.status ? ` (wanted ${check.status})` : ""}${check.body !== null && !body.includes(check.body) ? `, body lacks ${JSON.stringify(check.body)}` : ""}: ${tail(body).slice(0, 500)}`,
  };
}

/**
 * Runs a node's health checks in order, each with its delay, timeout and retries; returns the
 * first that does not pass, or undefined when all pass.
 */
export async function runHealthChecks(
  host: Host,
  checks: readonly HealthCheck[],
  onLog: (line: string) => void = () => undefined,
): Promise<CheckFailure | undefined> {
  for (const check of checks) {
    if (check.initialDelay > 0) await sleep(check.initialDelay * 1000);
    let last = { ok: false, output: "" };
    for (let i = 0; i <= check.retries; i++) {
      if (i > 0) await sleep(check.interval * 1000);
      last = await attempt(host, check);
      if (last.ok) break;
      onLog(
        `health check ${check.name}: attempt ${i + 1} of ${check.retries + 1} failed: ${last.output.split("\n")[0] ?? ""}`,
      );
    }
    if (!last.ok) return { name: check.name, output: last.output };
    onLog(`health check ${check.name}: passed`);
  }
  return undefined;
}
