import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fixturesDir } from "../support/hive-fixtures.js";
import { TmuxSession } from "../support/tmux.js";

// A real deploy's NDJSON (web-1 and web-2 switch, db's activation fails), replayed through the
// renderers on a tmux pane, and the screen read back as a person would see it.
const recording = join(fixturesDir, "events", "apply-web-1-web-2-db.ndjson");
const replay = fileURLToPath(new URL("../support/replay-events.mjs", import.meta.url));
const ESC = "\u001b";

const temp: string[] = [];
afterAll(async () => {
  await Promise.all(temp.map((d) => rm(d, { recursive: true, force: true })));
});

async function watch(
  args: { file?: string; format?: string; colour?: string; minGap?: number },
  pane: { width?: number; height?: number; env?: Record<string, string> } = {},
  during?: (session: TmuxSession) => Promise<void>,
): Promise<{ screen: string; coloured: string }> {
  const command = [
    process.execPath,
    replay,
    args.file ?? recording,
    args.format ?? "live",
    args.colour ?? "auto",
    String(args.minGap ?? 0),
  ].join(" ");
  const session = await TmuxSession.start(command, pane);
  try {
    await during?.(session);
    const screen = await session.waitFor(/\[exit \d+\]/, 60_000);
    return { screen, coloured: await session.screenWithColours() };
  } finally {
    await session.kill();
  }
}

describe("the live terminal view", () => {
  it("shows a header with counts and one line per node, redrawn in place, with a failure's log above", async () => {
    let midway = "";
    const { screen } = await watch({ minGap: 15 }, { width: 100, height: 30 }, async (s) => {
      midway = await s.waitFor(/push █*░+ [\d.]+ (B|KiB|MiB) \/ [\d.]+ MiB/);
    });
    expect(midway).toMatch(/^hive apply switch {2}\d running · \d done · \d failed · \d waiting/m);
    expect(screen).toContain("[exit 0]");
    // The final frame: counts, then each node once.
    expect(screen.match(/^hive apply switch/gm)).toHaveLength(1);
    expect(screen).toMatch(/^hive apply switch {2}0 running · 2 done · 1 failed · 0 waiting {2}\d+\.\ds$/m);
    expect(screen).toMatch(/^✓ web-1\s+\d+\.\ds {2}succeeded$/m);
    expect(screen).toMatch(/^✓ web-2\s+\d+\.\ds {2}succeeded$/m);
    expect(screen).toMatch(/^✗ db\s+\d+\.\ds {2}failed at activate$/m);
    // db's failure stays above the view, with the log lines that explain it.
    expect(screen).toMatch(
      /^✗ db failed at activate: node db: activate: switch-to-configuration switch exited with 2/m,
    );
    expect(screen).toMatch(/relation "users" does not exist/);
    expect(screen.indexOf("✗ db failed at activate")).toBeLessThan(screen.indexOf("hive apply switch"));
  });

  it("colours on a terminal, and not with NO_COLOR or --color never", async () => {
    const colourCode = new RegExp(`${ESC}\\[(3[0-9]|9[0-9]|1|2)(;\\d+)*m`);
    expect((await watch({}, { env: { TERM: "xterm-256color" } })).coloured).toMatch(colourCode);
    expect((await watch({}, { env: { TERM: "xterm-256color", NO_COLOR: "1" } })).coloured).not.toMatch(colourCode);
    expect((await watch({ colour: "never" }, { env: { TERM: "xterm-256color" } })).coloured).not.toMatch(colourCode);
    expect((await watch({ colour: "always" }, { env: { NO_COLOR: "1" } })).coloured).toMatch(colourCode);
  });

  it("fits narrow terminals: no line wraps", async () => {
    const { screen } = await watch({}, { width: 40, height: 30 });
    const lines = screen.split("\n");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(screen.match(/^hive apply switch/gm)).toHaveLength(1);
    expect(screen).toMatch(/^✗ db\s+\d+\.\ds {2}failed at activ…?/m);
  });

  it("keeps a fleet taller than the terminal to one screen, the busy nodes first", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-render-"));
    temp.push(dir);
    const time = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
    const events: object[] = [];
    for (let i = 0; i < 40; i++) events.push({ time: time(i), type: "step", node: `n-${i}`, step: "build" });
    for (let i = 0; i < 30; i++)
      events.push({ time: time(100 + i), type: "node-done", node: `n-${i}`, outcome: "succeeded" });
    events.push({ time: time(200), type: "step", node: "n-35", step: "push" });
    events.push({
      time: time(201),
      type: "build-progress",
      node: "n-36",
      done: 3,
      total: 12,
      building: ["openssl-3.0.12 on ssh://arm"],
    });
    const file = join(dir, "many.ndjson");
    await writeFile(file, events.map((e) => JSON.stringify(e)).join("\n"));
    const { screen } = await watch({ file }, { width: 80, height: 12 });
    const view = screen.slice(screen.indexOf("hive apply switch"));
    expect(view.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("[exit")).length).toBeLessThanOrEqual(11);
    expect(view).toMatch(/^hive apply switch {2}10 running · 30 done · 0 failed · 0 waiting/m);
    expect(view).toMatch(/n-35\s+\d+\.\ds {2}push$/m);
    expect(view).toMatch(/n-36\s+\d+\.\ds {2}build █{4}░{12} 3\/12 drvs {2}openssl-3\.0\.12 on ssh:\/\/arm$/m);
    expect(view).toMatch(/^… 32 more \(2 running, 30 finished\)$/m);
  });
});

describe("the plain renderer", () => {
  it("prints prefixed lines, push progress in quarters, and outcomes", async () => {
    const { screen } = await watch({ format: "plain" }, { width: 200, height: 60 });
    expect(screen).toMatch(/^web-2 \| push: 50% of 7\.6 MiB$/m);
    expect(screen).toMatch(/^db \| relation "users" does not exist$/m);
    expect(screen).toMatch(/^db \| failed at activate$/m);
    expect(screen).not.toContain(`${ESC}[`);
  });
});
