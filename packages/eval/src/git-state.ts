import { execFile } from "node:child_process";

/** A warning when a flake's git tree has uncommitted changes (Nix sees them; untracked files not). */
export function dirtyGitWarning(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["-C", dir, "status", "--porcelain", "--untracked-files=normal", "."], (error, stdout) => {
      if (error || stdout.trim() === "") {
        resolve(undefined);
        return;
      }
      const untracked = stdout.split("\n").filter((l) => l.startsWith("??")).length;
      resolve(
        `git tree at ${dir} is dirty: uncommitted changes are evaluated${untracked > 0 ? `, but ${untracked} untracked file(s) are invisible to Nix until you git add them` : ""}`,
      );
    });
  });
}
