import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { appendFile, chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createReadStream, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { nixEnvironment, type Testbed } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { run } from "../support/run.js";
import { runHive, systemOf, writeHive } from "../faults/fault-kit.js";

/** A file that hosts and Nix's build users can append to (they share this machine's /tmp). */
async function sharedLog(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-limits-"));
  await chmod(dir, 0o1777);
  const file = join(dir, "events");
  await writeFile(file, "");
  await chmod(file, 0o666);
  return file;
}

/** The most intervals open at once, from `start KEY TIME` / `end KEY TIME` lines. */
function maxOverlap(log: string, prefix = ""): number {
  const events = log
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => (w[0] === "start" || w[0] === "end") && (w[1] ?? "").startsWith(prefix))
    .map((w) => ({ delta: w[0] === "start" ? 1 : -1, at: Number(w[2]) }))
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (open += e.delta));
  return most;
}

/** A wrapper for a host's nix-store that logs each `--serve` (a push) as the host sees it. */
const PUSH_LOGGER = (log: string) => `#!/bin/sh
if [ "$1" = --serve ]; then
  echo "start $(cat /etc/ssh/hostname-hive) $(date +%s.%N)" >> ${log}
  /usr/bin/nix-store "$@"; rc=$?
  echo "end $(cat /etc/ssh/hostname-hive) $(date +%s.%N)" >> ${log}
  exit $rc
fi
exec /usr/bin/nix-store "$@"
`;

async function onRootPath(fleet: Testbed, host: string, name: string, script: string): Promise<void> {
  const h = fleet.host(host);
  const bin = join(h.paths.run, "testbed-bin");
  await run("mkdir", ["-p", bin]);
  await writeFile(join(bin, name), script);
  await chmod(join(bin, name), 0o755);
  await writeFile(join(h.paths.dir, "home", "root", ".bashrc"), "PATH=/run/testbed-bin:$PATH\n");
  await writeFile(join(h.paths.etcSsh, "hostname-hive"), `${host}\n`);
}

describe("limits and options as Nix and the hosts see them", () => {
  const fleet = useFleet({ hosts: ["p1", "p2", "p3", "p4", "sub1", "sub2"].map((name) => ({ name })) });

  it("-p 2: never more than two pushes or two activations at once, seen on the hosts", async () => {
    const log = await sharedLog();
    const hosts = ["p1", "p2", "p3", "p4"];
    const seed = Date.now();
    for (const host of hosts) {
      await fleet().link(host, { bytesPerSecond: 3 * 1024 * 1024 });
      await onRootPath(fleet(), host, "nix-store", PUSH_LOGGER(log));
    }
    const dir = await writeHive(
      Object.fromEntries(
        hosts.map((h) => [
          h,
          `deployment.targetHost = "${h}-link";
           testbed.payload = { paths = 4; bytes = 512 * 1024; seed = "${h}-${seed}"; };
           system.activationScripts.slow = "echo start act-${h} $(date +%s.%N) >> ${log}; sleep 1; echo end act-${h} $(date +%s.%N) >> ${log}";`,
        ]),
      ),
    );
    const result = await runHive(fleet(), dir, ["apply", "--on", "p*", "-p", "2", "--no-gzip"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const events = await readFile(log, "utf8");
    expect(events.match(/^start p\d/gm)).toHaveLength(4);
    expect(events.match(/^start act-p\d/gm)).toHaveLength(4);
    // At most two at once, and two at once indeed (the limit, not one at a time).
    expect(maxOverlap(events, "act-")).toBe(2);
    expect(maxOverlap(events, "p")).toBeLessThanOrEqual(2);
    expect(maxOverlap(events, "p")).toBeGreaterThanOrEqual(1);
  });

  it("--max-jobs and --cores reach Nix's builds", async () => {
    const log = await sharedLog();
    const seed = Date.now();
    const jobs = [1, 2, 3, 4]
      .map(
        (i) =>
          `(pkgs.runCommand "job-${i}-${seed}" { } "echo start job-${i} $(date +%s.%N) cores=$NIX_BUILD_CORES >> ${log}; sleep 1; echo end job-${i} $(date +%s.%N) >> ${log}; mkdir $out")`,
      )
      .join(" ");
    const dir = await writeHive({ p1: `environment.systemPackages = [ ${jobs} ];` });
    const result = await runHive(fleet(), dir, ["build", "--on", "p1", "--max-jobs", "2", "--cores", "3"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const events = await readFile(log, "utf8");
    expect(events.match(/^start job-/gm)).toHaveLength(4);
    expect(events.match(/cores=(\d+)/g)).toEqual(["cores=3", "cores=3", "cores=3", "cores=3"]);
    expect(maxOverlap(events, "job-")).toBe(2);
  });

  it("lets the target substitute from its binary cache (served here over HTTP), not with --no-substitute", async () => {
    const seed = Date.now();
    const module = (n: string) =>
      `testbed.payload = { paths = 3; bytes = 64 * 1024; seed = "sub-${seed}"; }; environment.etc.n.text = "${n}";`;
    const dir = await writeHive({ sub1: module("1"), sub2: module("2") });
    const built = await runHive(fleet(), dir, ["build", "--on", "sub*"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const cache = await mkdtemp(join(tmpdir(), "hive-cache-"));
    for (const node of ["sub1", "sub2"]) {
      const system = systemOf(built.stdout, node) ?? "";
      const copied = await run("nix", ["copy", "--to", `file://${cache}`, system], { env: nixEnvironment() });
      expect(copied.code, copied.stderr).toBe(0);
    }
    const requests: string[] = [];
    const server: Server = createHttpServer((req, res) => {
      requests.push(req.url ?? "");
      const path = normalize(join(cache, req.url ?? "/"));
      if (!path.startsWith(cache) || !existsSync(path)) {
        res.writeHead(404).end();
        return;
      }
      createReadStream(path).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      for (const node of ["sub1", "sub2"]) {
        await appendFile(
          join(fleet().host(node).paths.etcNix, "nix.conf"),
          `\nsubstituters = http://127.0.0.1:${port}\nrequire-sigs = false\n`,
        );
      }
      const fetched = await runHive(fleet(), dir, ["apply", "--on", "sub1", "-v"]);
      expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
      expect(requests.filter((r) => r.endsWith(".nar") || r.includes("/nar/")).length).toBeGreaterThan(0);
      // The payload came from the cache: nothing of it crossed from here.
      expect(fetched.stderr).toMatch(/sub1 \| 0 of \d+ paths copied/);
      requests.length = 0;
      const pushed = await runHive(fleet(), dir, ["apply", "--on", "sub2", "--no-substitute", "-v"]);
      expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);
      expect(requests).toEqual([]);
      expect(pushed.stderr).toMatch(/sub2 \| [1-9]\d* of \d+ paths copied/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("fails within ConnectTimeout a host that accepts TCP but never speaks SSH", async () => {
    const silent = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const config = join(fleet().dir, "silent_ssh_config");
    await writeFile(
      config,
      `Host silent\n  HostName 127.0.0.1\n  Port ${port}\n  ConnectTimeout 2\n\n${await readFile(fleet().sshConfigPath, "utf8")}`,
    );
    try {
      const dir = await writeHive({ silent: 'environment.etc.s.text = "s";' });
      const started = Date.now();
      const result = await runHive(fleet(), dir, ["apply", "push", "--on", "silent"], { SSH_CONFIG_FILE: config });
      const took = Date.now() - started;
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^silent: failed at connect: .*(timed out|timeout)/im);
      // Evaluation and build come first; the connection itself gave up after about 2 s.
      expect(took).toBeLessThan(15_000);
      expect(result.stdout + result.stderr).not.toMatch(/Unhandled/);
    } finally {
      silent.close();
    }
  });
});
