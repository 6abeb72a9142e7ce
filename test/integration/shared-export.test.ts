import { describe, expect, it } from "vitest";
import { parseDrvPath, parseNodeName, parseStorePath } from "@hive/core";
import { Deployment, ExportSplitter, SharedExporter } from "@hive/deploy";
import { BuildScheduler } from "@hive/build";
import { closureOf, exportPaths, localBuildSystems, type PathInfo } from "@hive/nix";
import { SshTransportPool } from "@hive/ssh";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { plainBuiltNode, plainDeploymentOptions } from "../support/plain-deployment.mjs";
import { nixBuild, ok } from "../support/run.js";
import { nixEnvironment } from "@hive/testbed";

const expression = (name: string) =>
  `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ ({ pkgs, ... }: { networking.hostName = "${name}"; environment.systemPackages = [ pkgs.git pkgs.nginx ]; environment.etc."a/b/c".text = "deep"; testbed.payload = { paths = 5; bytes = 70000; seed = "shared-${name}"; }; }) ]; }).config.system.build.toplevel`;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The records of an export stream (each path's bytes), checked to end properly. */
function records(bytes: Buffer): string[] {
  const { recordEnds, end } = new ExportSplitter().push(bytes);
  expect(end).toBe(bytes.length);
  return recordEnds.map((at, i) => bytes.subarray(i === 0 ? 0 : recordEnds[i - 1], at).toString("hex"));
}

async function exportOf(paths: readonly PathInfo[]): Promise<Buffer> {
  const { stream, done } = exportPaths(paths.map((p) => p.path));
  const [bytes] = await Promise.all([collect(stream), done]);
  return bytes;
}

describe("splitting and sharing nix-store --export streams", () => {
  it("finds every record boundary, whatever the chunking", async () => {
    const system = parseStorePath(await nixBuild(expression("split")));
    const closure = await closureOf([system]);
    const whole = await exportOf(closure);
    for (const size of [1, 7, 4096, whole.length]) {
      const splitter = new ExportSplitter();
      const ends: number[] = [];
      let end: number | undefined;
      for (let i = 0; i < whole.length; i += size) {
        const cuts = splitter.push(whole.subarray(i, i + size));
        ends.push(...cuts.recordEnds.map((at) => i + at));
        if (cuts.end !== undefined) end = i + cuts.end;
      }
      expect(ends).toHaveLength(closure.length);
      expect(end).toBe(whole.length);
      // Each record is exactly what exporting that path alone gives (without the final 0).
      let start = 0;
      for (const [index, info] of closure.entries()) {
        const alone = await exportOf([info]);
        expect(whole.subarray(start, ends[index]).equals(alone.subarray(0, alone.length - 8)), info.path).toBe(true);
        start = ends[index] ?? 0;
      }
    }
  });

  it("serves concurrent requests from one export, each exactly the export of its own paths", async () => {
    const a = await closureOf([parseStorePath(await nixBuild(expression("a")))]);
    const b = await closureOf([parseStorePath(await nixBuild(expression("b")))]);
    const exporter = new SharedExporter();
    const first = exporter.request(a);
    const second = exporter.request(b.slice(1));
    const [bytesA, bytesB] = await Promise.all([
      collect(first.stream),
      collect(second.stream),
      first.done,
      second.done,
    ]);
    expect(exporter.exportsRun).toBe(1);
    // The same records as exporting each request's paths alone (in an order that also puts
    // dependencies first, as the import needs, which the hosts' imports below prove).
    expect(records(bytesA).sort()).toEqual(records(await exportOf(a)).sort());
    expect(records(bytesB).sort()).toEqual(records(await exportOf(b.slice(1))).sort());
  });

  it("waits a little for a host still taking its lock, and no longer than that for one that never comes", async () => {
    const a = await closureOf([parseStorePath(await nixBuild(expression("a")))]);
    const b = await closureOf([parseStorePath(await nixBuild(expression("b")))]);
    const exporter = new SharedExporter(50, 300);
    // One host asks while another is still taking its lock; that one asks 100 ms later.
    const later = exporter.expect();
    const first = exporter.join().request(a);
    const second = new Promise<ReturnType<SharedExporter["request"]>>((resolve) =>
      setTimeout(() => {
        const seat = exporter.join();
        later();
        resolve(seat.request(b));
      }, 100),
    );
    const [bytesA, bytesB] = await Promise.all([
      collect(first.stream),
      second.then((s) => collect(s.stream)),
      first.done,
      second.then((s) => s.done),
    ]);
    expect(exporter.exportsRun).toBe(1);
    expect(records(bytesB).sort()).toEqual(records(await exportOf(b)).sort());
    expect(records(bytesA)).toHaveLength(a.length);
    // A host that never says (its lock hangs) holds the next export 300 ms, not the 2 s grace.
    exporter.expect();
    const started = Date.now();
    const alone = exporter.join().request(a.slice(0, 1));
    await Promise.all([collect(alone.stream), alone.done]);
    expect(exporter.exportsRun).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1900);
  });
});

describe("a deploy to several hosts at once", () => {
  const fleet = useFleet({ hosts: 3 });

  it("exports what they lack once, and every host imports it", async () => {
    const drv = parseDrvPath(
      (await ok("nix-instantiate", ["-E", expression("many")], { env: nixEnvironment() })).trim(),
    );
    const outPath = parseStorePath((await ok("nix-store", ["-q", "--outputs", drv], { env: nixEnvironment() })).trim());
    const pool = new SshTransportPool({ userConfig: fleet().sshConfigPath, home: fleet().dir }, undefined);
    // The product's own build path: the scheduler, building here.
    const scheduler = new BuildScheduler({
      localSystems: await localBuildSystems(),
      machines: [],
      maxJobs: 2,
      substitute: false,
    });
    const deployment = new Deployment(
      plainDeploymentOptions({
        build: (node, d) => scheduler.build(node, d),
        pool,
        parallel: 10,
        gzip: true,
        confirmTimeoutMs: 30_000,
      }),
    );
    for (const name of ["h1", "h2", "h3"]) deployment.add(plainBuiltNode(parseNodeName(name), drv, outPath));
    const summaries = await deployment.finish();
    await pool.closeAll();
    expect(summaries.map((s) => [s.node, s.outcome])).toEqual(
      expect.arrayContaining([
        ["h1", "succeeded"],
        ["h2", "succeeded"],
        ["h3", "succeeded"],
      ]),
    );
    expect(deployment.exporter.exportsRun).toBe(1);
    const system = summaries[0]?.system ?? "";
    for (const name of ["h1", "h2", "h3"]) expect(await fleet().host(name).currentSystem()).toBe(system);
  });
});
