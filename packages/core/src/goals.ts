import { HiveError } from "./errors.js";

export const GOALS = ["build", "push", "switch", "boot", "test", "dry-activate"] as const;
export type Goal = (typeof GOALS)[number];

export interface GoalTraits {
  /** The system is copied to the target. */
  pushes: boolean;
  /** The system profile (/nix/var/nix/profiles/system) is set to the new system. */
  switchesProfile: boolean;
  /** What switch-to-configuration is asked to do, if anything. */
  activation: "switch" | "boot" | "test" | "dry-activate" | null;
  /** Whether a host already running the system can be skipped. */
  skipsUnchanged: boolean;
}

/** Goals as data: code asks about traits, never about goal names. */
export const GOAL_TRAITS = {
  build: { pushes: false, switchesProfile: false, activation: null, skipsUnchanged: false },
  push: { pushes: true, switchesProfile: false, activation: null, skipsUnchanged: false },
  switch: { pushes: true, switchesProfile: true, activation: "switch", skipsUnchanged: true },
  boot: { pushes: true, switchesProfile: true, activation: "boot", skipsUnchanged: true },
  test: { pushes: true, switchesProfile: false, activation: "test", skipsUnchanged: true },
  "dry-activate": { pushes: true, switchesProfile: false, activation: "dry-activate", skipsUnchanged: false },
} as const satisfies Record<Goal, GoalTraits>;

export function parseGoal(raw: string): Goal {
  const goal = GOALS.find((g) => g === raw);
  if (goal === undefined)
    throw new HiveError("HIVE_USAGE", `unknown goal ${JSON.stringify(raw)}`, { hint: `goals: ${GOALS.join(", ")}` });
  return goal;
}
