import { HiveError } from "./errors.js";

export const GOALS = ["build", "push", "switch", "boot", "test", "dry-activate", "upload-keys"] as const;
export type Goal = (typeof GOALS)[number];

export interface GoalTraits {
  /** The system is built (upload-keys needs no system). */
  builds: boolean;
  /** deployment.keys are uploaded (unless --no-keys). */
  uploadsKeys: boolean;
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
  build: {
    builds: true,
    uploadsKeys: false,
    pushes: false,
    switchesProfile: false,
    activation: null,
    skipsUnchanged: false,
  },
  push: {
    builds: true,
    uploadsKeys: false,
    pushes: true,
    switchesProfile: false,
    activation: null,
    skipsUnchanged: false,
  },
  switch: {
    builds: true,
    uploadsKeys: true,
    pushes: true,
    switchesProfile: true,
    activation: "switch",
    skipsUnchanged: true,
  },
  boot: {
    builds: true,
    uploadsKeys: true,
    pushes: true,
    switchesProfile: true,
    activation: "boot",
    skipsUnchanged: true,
  },
  test: {
    builds: true,
    uploadsKeys: true,
    pushes: true,
    switchesProfile: false,
    activation: "test",
    skipsUnchanged: true,
  },
  "dry-activate": {
    builds: true,
    uploadsKeys: false,
    pushes: true,
    switchesProfile: false,
    activation: "dry-activate",
    skipsUnchanged: false,
  },
  "upload-keys": {
    builds: false,
    uploadsKeys: true,
    pushes: false,
    switchesProfile: false,
    activation: null,
    skipsUnchanged: false,
  },
} as const satisfies Record<Goal, GoalTraits>;

/** Colmena's names for goals: `colmena apply keys` is hive's `upload-keys`. */
export const GOAL_ALIASES: Readonly<Record<string, Goal>> = { keys: "upload-keys" };

export function parseGoal(raw: string): Goal {
  const goal = GOALS.find((g) => g === raw) ?? GOAL_ALIASES[raw];
  if (goal === undefined)
    throw new HiveError("HIVE_USAGE", `unknown goal ${JSON.stringify(raw)}`, { hint: `goals: ${GOALS.join(", ")}` });
  return goal;
}
