import { afterEach, describe, expect, it, vi } from "vitest";
import { parseDrvPath, parseNodeName, parseStorePath } from "@hive/core";

// Every system asked for is already built: the scheduler's only question to Nix is answered here.
const asked: string[][] = [];
vi.mock("@hive/nix", async (original) => ({
  ...(await original<typeof import("@hive/nix")>()),
  invalidPaths: (paths: readonly string[]) => {
    asked.push([...paths]);
    return Promise.resolve(new Set<string>());
  },
}));
const { BuildScheduler } = await import("./scheduler.js");

const node = (i: number) => ({
  name: parseNodeName(`n${i}`),
  drv: parseDrvPath(`/nix/store/${String(i).repeat(32).slice(0, 32)}-system.drv`),
  out: parseStorePath(`/nix/store/${String(i).repeat(32).slice(0, 32)}-system`),
});

describe("the build scheduler's batches", () => {
  afterEach(() => {
    vi.useRealTimers();
    asked.length = 0;
  });

  it("waits a moment for more nodes while the evaluation runs, and not once every node has arrived", async () => {
    vi.useFakeTimers();
    const scheduler = new BuildScheduler({
      localSystems: ["x86_64-linux"],
      machines: [],
      maxJobs: 1,
      substitute: false,
    });
    const [a, b] = [node(1), node(2)];
    let built = false;
    const first = scheduler.build(a.name, a.drv, a.out).then(() => (built = true));
    await vi.advanceTimersByTimeAsync(10);
    // Within the window: still waiting, so a node that arrives now joins the same batch.
    expect(built).toBe(false);
    const second = scheduler.build(b.name, b.drv, b.out);
    scheduler.allArrived();
    await Promise.all([first, second]);
    expect(asked).toEqual([[a.out, b.out]]);
  });
});
