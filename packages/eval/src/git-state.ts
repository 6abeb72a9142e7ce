import { execFile } from "node:child_process";

function git(dir: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["-C", dir, ...args], (error, stdout) => resolve(error ? undefined : stdout));
  });
}

function statusLines(dir: string): Promise<string[] | undefined> {
  return git(dir, ["status", "--porcelain", "--untracked-files=normal", "."]).then((out) =>
    out?.split("\n").filter((l) => l !== ""),
  );
}

/** A warning when a flake's git tree has uncommitted changes (Nix sees them; untracked files not). */
export async function dirtyGitWarning(dir: string): Promise<string | undefined> {
  const lines = await statusLines(dir);
  if (lines === undefined || lines.length === 0) return undefined;
  const untracked = lines.filter((l) => l.startsWith("??")).length;
  return `git tree at ${dir} is dirty: uncommitted changes are evaluated${untracked > 0 ? `, but ${untracked} untracked file(s) are invisible to Nix until you git add them` : ""}`;
}

export interface GitState {
  /** The commit checked out. */
  rev: string;
  /** Whether tracked or untracked files differ from it. */
  dirty: boolean;
}

/** The git commit a hive directory is at, for deploy history; undefined outside a git tree. */
export async function gitState(dir: string): Promise<GitState | undefined> {
  const [rev, lines] = await Promise.all([git(dir, ["rev-parse", "HEAD"]), statusLines(dir)]);
  if (rev === undefined || lines === undefined) return undefined;
  return { rev: rev.trim(), dirty: lines.length > 0 };
}
