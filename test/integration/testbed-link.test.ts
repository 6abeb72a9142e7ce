import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { ssh } from "../support/run.js";

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

// Only lower bounds on time: a slow machine can make the link slower, never faster.
describe("a WAN-like link in front of a host", () => {
  const fleet = useFleet({ hosts: 1 });

  it("adds latency to every round trip", async () => {
    const link = await fleet().link("h1", { latencyMs: 150 });
    const [result, elapsed] = await timed(() => ssh(fleet(), "h1-link", "true"));
    expect(result.code, result.stderr).toBe(0);
    // An ssh login takes several round trips of 2 x 150 ms.
    expect(elapsed).toBeGreaterThan(900);
    link.latencyMs = 0;
  });

  it("caps bandwidth", async () => {
    const link = await fleet().link("h1");
    link.bytesPerSecond = 512 * 1024;
    const [result, elapsed] = await timed(() => ssh(fleet(), "h1-link", "head -c 1048576 /dev/zero"));
    link.bytesPerSecond = undefined;
    expect(result.stdout.length).toBe(1048576);
    expect(elapsed).toBeGreaterThan(1800);
  });

  it("cuts live connections half-way, and lets new ones through", async () => {
    const link = await fleet().link("h1");
    link.cutAfter(2 * 1024 * 1024);
    const cut = await ssh(fleet(), "h1-link", "head -c 100000000 /dev/zero");
    expect(cut.code).toBe(255);
    expect(cut.stdout.length).toBeGreaterThan(0);
    expect(cut.stdout.length).toBeLessThan(100000000);
    expect(link.liveConnections).toBe(0);
    const again = await ssh(fleet(), "h1-link", "echo back");
    expect(again.stdout.trim()).toBe("back");
  });
});
