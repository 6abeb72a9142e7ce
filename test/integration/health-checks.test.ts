import { createServer, type Server } from "node:http";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { currentSystems, ndjson, runHive, startHive, waitFor, writeHive } from "../faults/fault-kit.js";

const NODES = ["c1", "c2", "c3", "c4"];

/** An HTTP endpoint on this machine: answers 200 "healthy" on /ok and 503 elsewhere. */
async function endpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === "/ok") res.writeHead(200).end("healthy");
    else res.writeHead(503).end("down for maintenance");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("health checks", () => {
  const fleet = useFleet({ hosts: NODES.map((name) => ({ name })) });

  // Each node's system marks itself healthy unless it is `sick`; the check reads the mark.
  const hive = (tag: string, sick: string[], extra = "") =>
    writeHive(
      Object.fromEntries(
        NODES.map((n) => [
          n,
          `environment.etc.tag.text = "${tag}";
           system.activationScripts.mark = "${sick.includes(n) ? "rm -f /run/healthy" : "touch /run/healthy"}";
           deployment.healthChecks = [ { name = "marker"; cmd = [ "test" "-e" "/run/healthy" ]; retries = 1; interval = 0; timeout = 5; } ${extra} ];`,
        ]),
      ),
    );

  it("a failing check rolls its host back; with --max-failures 0 no later wave starts (NDJSON shows the halt)", async () => {
    const base = await runHive(fleet(), await hive(`base-${Date.now()}`, []), ["apply"]);
    expect(base.code, base.stdout + base.stderr).toBe(0);
    const before = await currentSystems(fleet(), NODES);
    const dir = await hive(`sick-${Date.now()}`, ["c2"]);
    const result = await runHive(fleet(), dir, [
      "apply",
      "--waves",
      "2",
      "--max-failures",
      "0",
      "--log-format",
      "json",
    ]);
    expect(result.code).toBe(1);
    const events = ndjson(result.stdout);
    const done = (n: string) => events.find((e) => e["type"] === "node-done" && e["node"] === n);
    expect(String(done("c2")?.["message"])).toMatch(/succeeded, but health check marker failed \(exit 1/);
    expect(String(done("c2")?.["message"])).toMatch(/; rolled back to generation \d+/);
    expect(events.some((e) => e["type"] === "halt")).toBe(true);
    expect(done("c3")).toMatchObject({ outcome: "skipped" });
    expect(done("c4")).toMatchObject({ outcome: "skipped" });
    // The sick host runs its old system again; the hosts never started still run theirs.
    for (const n of ["c2", "c3", "c4"]) expect(await fleet().host(n).currentSystem(), n).toBe(before.get(n));
  });

  it("checks over HTTP from the deployer, and hive check runs them without deploying", async () => {
    const web = await endpoint();
    try {
      const good = `{ name = "web"; http = "${web.url}/ok"; body = "healthy"; retries = 0; timeout = 5; }`;
      const dir = await hive(`http-${Date.now()}`, [], good);
      const applied = await runHive(fleet(), dir, ["apply", "--on", "c1"]);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
      const checked = await runHive(fleet(), dir, ["check", "--on", "c1,c2"]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
      expect(checked.stdout).toMatch(/^c1: passed \(2 checks\)$/m);

      const bad = `{ name = "web"; http = "${web.url}/down"; retries = 0; timeout = 5; }`;
      const failing = await runHive(fleet(), await hive(`http-${Date.now()}`, [], bad), ["check", "--on", "c1"]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/^c1: failed: web: HTTP 503 \(wanted 200\): down for maintenance$/m);
    } finally {
      await web.close();
    }
  });

  it("--soak: checks run again on the hosts switched so far before the next wave; a failure halts it", async () => {
    const dir = await hive(`soak-${Date.now()}`, []);
    const run = startHive(fleet(), dir, [
      "apply",
      "--waves",
      "2",
      "--soak",
      "3",
      "--max-failures",
      "0",
      "--log-format",
      "plain",
    ]);
    await waitFor("wave 1 to end", () => /hive \| wave 1 done/.test(run.stderr()));
    // c1 falls ill while the first wave soaks.
    await fleet().host("c1").run(["rm", "-f", "/run/healthy"]);
    const code = await run.exited;
    expect(code, run.stdout() + run.stderr()).toBe(1);
    expect(run.stdout()).toMatch(/^c1: failed at activate: .*health check marker failed during the soak/m);
    expect(run.stderr()).toMatch(/hive \| rollout halted: .*the last: c1/);
    expect(run.stdout()).toMatch(/^c3: skipped: not started: the rollout halted/m);
    expect(run.stdout()).toMatch(/^c4: skipped: not started: the rollout halted/m);
  });
});
