import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hive } from "../support/hive-fixtures.js";
import { hiveBin, repoRoot } from "../support/paths.js";
import { TmuxSession } from "../support/tmux.js";

// The completion scripts, sourced into real bash and zsh on a tmux pane, completing the example
// fleet's node names and tags as a person typing Tab would see them.
const fleet = join(repoRoot, "examples", "fleet");
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hive-completion-"));
  await writeFile(join(dir, "hive"), `#!/bin/sh\nexec ${process.execPath} ${hiveBin} "$@"\n`);
  await chmod(join(dir, "hive"), 0o755);
  for (const shell of ["bash", "zsh"] as const) {
    const script = await hive(["completion", shell]);
    await writeFile(join(dir, `hive.${shell}`), script.stdout);
  }
  await writeFile(join(dir, ".zshrc"), `autoload -Uz compinit && compinit -u\nsource ${dir}/hive.zsh\n`);
  env = {
    PATH: `${dir}:${process.env.PATH ?? ""}`,
    XDG_CACHE_HOME: join(dir, "cache"),
    NIX_PATH: "",
    ZDOTDIR: dir,
    PS1: "$ ",
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function typeIn(shell: string, keys: string[][], expected: RegExp): Promise<string> {
  const session = await TmuxSession.start(`sh -c 'cd ${fleet} && exec ${shell}'`, { env });
  try {
    await session.waitFor(/\$ ?$/m, 20_000);
    for (const k of keys) await session.send(...k);
    return await session.waitFor(expected, 30_000);
  } finally {
    await session.kill();
  }
}

describe("shell completion", () => {
  it("bash completes commands, node names and @tags, after commas and '!' too", async () => {
    const shell = "bash --norc --noprofile -i";
    const src = `source ${dir}/hive.bash`;
    expect(
      await typeIn(
        shell,
        [
          [src, "Enter"],
          ["hive stat", "Tab"],
        ],
        /hive status$/m,
      ),
    ).toBeTruthy();
    expect(
      await typeIn(
        shell,
        [
          [src, "Enter"],
          ["hive apply --on @w", "Tab"],
        ],
        /hive apply --on @web$/m,
      ),
    ).toBeTruthy();
    expect(
      await typeIn(
        shell,
        [
          [src, "Enter"],
          ["hive apply --on web-1,@d", "Tab"],
        ],
        /hive apply --on web-1,@db$/m,
      ),
    ).toBeTruthy();
    expect(
      await typeIn(
        shell,
        [
          [src, "Enter"],
          ["hive apply --on=db,w", "Tab"],
        ],
        /hive apply --on=db,web-$/m,
      ),
    ).toBeTruthy();
    const listed = await typeIn(
      shell,
      [
        [src, "Enter"],
        ["hive apply --on !web-", "Tab", "Tab"],
      ],
      /web-2/,
    );
    expect(listed).toMatch(/!web-1\s+!web-2/);
  });

  it("zsh completes node names and @tags", async () => {
    expect(await typeIn("zsh -i", [["hive apply --on @w", "Tab"]], /hive apply --on @web$/m)).toBeTruthy();
    expect(await typeIn("zsh -i", [["hive sta", "Tab"]], /hive status$/m)).toBeTruthy();
  });
});
