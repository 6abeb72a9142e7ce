import { HiveError, type NodeName, type StorePath } from "@hive/core";
import type { ActivationResult } from "./activator.js";
import { SYSTEM_PROFILE } from "./host-paths.js";

/** What the host runs and boots after an activation (or its rollback). */
export function hostNow(result: Pick<ActivationResult, "current" | "profile">): string {
  return result.current === result.profile
    ? `the host runs and boots ${result.current ?? "no system"}`
    : `the host runs ${result.current ?? "no system"} and boots ${result.profile ?? "no system"}`;
}

/** A failed activation, told as what happened and what the host runs now. */
export function activationFailure(
  node: NodeName,
  system: StorePath,
  action: string,
  previous: { generation: number | undefined; system: string | undefined },
  result: ActivationResult,
  options: { activationTimeoutMs: number; confirmTimeoutMs: number },
): HiveError {
  const what =
    result.checkFailed !== undefined
      ? `switch-to-configuration ${action} succeeded, but health check ${result.checkFailed.name} failed (${result.checkFailed.output.replace(/\n/g, " ")})`
      : result.unconfirmed !== undefined
        ? `switch-to-configuration ${action} succeeded, but hive could not get back in to confirm it within ${Math.round(options.confirmTimeoutMs / 1000)} s (magic rollback; ${result.unconfirmed.reason})`
        : result.interruption === "timeout"
          ? `switch-to-configuration ${action} did not finish within ${Math.round(options.activationTimeoutMs / 1000)} s (--activation-timeout) and was stopped`
          : result.interruption === "aborted"
            ? `switch-to-configuration ${action} was stopped (interrupted)`
            : result.interruption === "gone"
              ? "the activation's process ended without a result (killed, or the host lost power)"
              : result.interruption === "rebooted"
                ? "the host rebooted during the activation"
                : result.interruption === "stopped"
                  ? `switch-to-configuration ${action} was stopped on the host by a signal (a shutdown, or someone killed it)`
                  : `switch-to-configuration ${action} exited with ${result.exitCode ?? "?"}`;
  const now = hostNow(result);
  const tail = result.log.trim().split("\n").slice(-10).join("\n");
  const rollback = result.rollback;
  if (rollback === "ok") {
    const to =
      previous.generation !== undefined
        ? `generation ${previous.generation} (${previous.system ?? "?"})`
        : (previous.system ?? "?");
    return new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: activate: ${what}; rolled back to ${to}: ${now} again:\n${tail}`,
      {
        hint: `the whole output is in ${result.logPath} on the host`,
      },
    );
  }
  if (rollback === "unavailable" || rollback === "none") {
    const why = rollback === "unavailable" ? "there was no earlier generation to restore" : "nothing to restore";
    return new HiveError("HIVE_ACTIVATION_FAILED", `node ${node}: activate: ${what}; ${why}: ${now}:\n${tail}`, {
      hint: `the whole output is in ${result.logPath} on the host`,
    });
  }
  const restoredAnyway =
    result.current === previous.system && (previous.generation === undefined || result.profile === previous.system);
  if (restoredAnyway) {
    // The previous system is back, but its own activation reported errors (as it may on NixOS).
    return new HiveError(
      "HIVE_ACTIVATION_FAILED",
      `node ${node}: activate: ${what}; rolled back: ${now} again, but its activation exited with ${rollback.failed.replace(/^failed:/, "")} too:\n${tail}`,
      { hint: `the whole output is in ${result.logPath} on the host` },
    );
  }
  const manual =
    previous.generation !== undefined
      ? `nix-env --profile ${SYSTEM_PROFILE} --switch-generation ${previous.generation} && ${previous.system ?? SYSTEM_PROFILE}/bin/switch-to-configuration ${action}`
      : `${previous.system ?? "<previous system>"}/bin/switch-to-configuration ${action}`;
  return new HiveError(
    "HIVE_ROLLBACK_FAILED",
    `node ${node}: rollback: ${what}, and restoring the previous system failed too (${rollback.failed}): ${now} (wanted ${system}):\n${tail}`,
    { hint: `the host needs a person: log in and run ${manual}; the whole output is in ${result.logPath}` },
  );
}
