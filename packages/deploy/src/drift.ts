import type { NodeName } from "@hive/core";
import type { DeployRecord } from "./history.js";
import type { HostState } from "./host-state.js";

export const VERDICTS = ["up-to-date", "drifted", "unknown-profile", "unreachable", "unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface NodeStatus {
  node: NodeName;
  verdict: Verdict;
  /** Why, in a sentence. */
  reason?: string;
  /** Since when the host has not run what hive last deployed to it (changes behind hive's back). */
  since?: Date;
  /** What the host runs and boots. */
  current?: string;
  profile?: string;
  generation?: number;
  switchedAt?: Date;
  /** Who deployed the running system ("user@machine"), from the host's history. */
  switchedBy?: string;
  /** What the hive says the node should run. */
  desired?: string;
  /** The host's last deploy record. */
  lastDeploy?: DeployRecord;
}

const who = (r: DeployRecord) => `${r.user}@${r.from}`;

/**
 * The verdict on one host: does it run what the hive describes, and if not, why. `profileKnown`
 * says whether this machine's store has the host's profile system (as `apply` checks before it
 * replaces a profile).
 */
export function assess(node: NodeName, desired: string, state: HostState, profileKnown: boolean): NodeStatus {
  const succeeded = state.history.filter((r) => r.outcome === "succeeded");
  const deployed = succeeded.findLast((r) => r.system === state.current);
  const lastDeploy = state.history.at(-1);
  const base: NodeStatus = {
    node,
    verdict: "drifted",
    desired,
    ...(state.current !== undefined ? { current: state.current } : {}),
    ...(state.profile !== undefined ? { profile: state.profile } : {}),
    ...(state.generation !== undefined ? { generation: state.generation } : {}),
    ...(state.switchedAt !== undefined ? { switchedAt: state.switchedAt } : {}),
    ...(deployed !== undefined ? { switchedBy: who(deployed) } : {}),
    ...(lastDeploy !== undefined ? { lastDeploy } : {}),
  };
  if (state.current === desired && (state.profile === undefined || state.profile === desired))
    return { ...base, verdict: "up-to-date" };
  if (state.current === undefined && state.profile === undefined)
    return { ...base, reason: "the host runs no NixOS system yet" };
  const installed = state.profile ?? state.current;
  if (installed !== desired && !profileKnown && !state.history.some((r) => r.system === installed))
    return {
      ...base,
      verdict: "unknown-profile",
      reason: `its system profile (${installed ?? "?"}) was not deployed from here; apply refuses to replace it unless told to`,
    };
  if (state.current === desired) return { ...base, reason: "runs the desired system but boots another" };
  if (state.profile === desired)
    return { ...base, reason: "boots the desired system but runs another (a reboot is pending, or `test` ran since)" };
  if (deployed !== undefined)
    return { ...base, reason: `the hive has changed since ${who(deployed)} deployed it (${deployed.time})` };
  return {
    ...base,
    reason:
      lastDeploy === undefined
        ? "runs a system hive never deployed"
        : `changed outside hive after the last deploy by ${who(lastDeploy)} (${lastDeploy.time})`,
    ...(state.switchedAt !== undefined ? { since: state.switchedAt } : {}),
  };
}
