import { createColors } from "picocolors";

export type ColourChoice = "auto" | "always" | "never";
export type Colours = ReturnType<typeof createColors>;

/**
 * Whether to colour a stream: --color always/never wins; else FORCE_COLOR forces it, NO_COLOR
 * (non-empty, per no-color.org) turns it off, and otherwise only terminals that are not dumb get it.
 */
export function useColour(
  choice: ColourChoice,
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (choice !== "auto") return choice === "always";
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function colours(enabled: boolean): Colours {
  return createColors(enabled);
}
