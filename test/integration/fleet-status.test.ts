import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { nixBuild, nixCopy, ok } from "../support/run.js";
import { systemExpression } from "../support/systems.js";
import { hiveBin } from "../support/paths.js";
import { TmuxSession } from "../support/tmux.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A hive for s1..s4; `extra` adds module text per node. */
async function writeHive(extra: Record<string, string> = {}, dir?: string): Promise<string> {
  const at = dir ?? (await mkdtemp(join(tmpdir(), "hive-status-")));
  if (dir === undefined) dirs.push(at);
  const node = (name: string) => `  ${name} = { pkgs, ... }: { ${extra[name] ?? ""} };`;
  await writeFile(
    join(at, "hive.nix"),
    `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  defaults = { name, pkgs, ... }: { networking.hostName = name; environment.systemPackages = [ pkgs.hello ]; };
${["s1", "s2", "s3", "s4"].map(node).join("\n")}
}
`,
  );
  return at;
}

interface Record_ {
  v: number;
  time: string;
  user: string;
  from: string;
  goal: string;
  system: string;
  generation?: number;
  previousGeneration?: number;
  git?: { rev: string; dirty: boolean };
  outcome: string;
  run?: string;
}

describe("deploy history, status and drift", () => {
  const fleet = useFleet({ hosts: [{ name: "s1" }, { name: "s2" }, { name: "s3" }, { name: "s4" }] });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });
  const run = (dir: string, args: string[]) => hive(args, { cwd: dir, env: env() });
  const history = async (node: string): Promise<Record_[]> => {
    const result = await fleet().host(node).run(["cat", "/nix/var/hive/history.jsonl"]);
    return result.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record_);
  };
  const me = `${process.env.SUDO_USER ?? userInfo().username}@${hostname()}`;

  it("records every activation on the host, root-only, with who, where from, the git state and the outcome", async () => {
    const secret = `history-secret-${Date.now()}`;
    const dir = await writeHive({ s1: `deployment.keys."token".text = "${secret}";` });
    const git = (...args: string[]) => ok("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args]);
    await git("init", "-q");
    await git("add", "hive.nix");
    await git("commit", "-q", "-m", "first");
    const rev = (await git("rev-parse", "HEAD")).trim();

    const first = await run(dir, ["apply", "--on", "s1", "--log-format", "json"]);
    expect(first.code, first.stderr).toBe(0);
    const runId = (JSON.parse(first.stdout.split("\n")[0] ?? "{}") as { run: string }).run;
    const [record, ...others] = await history("s1");
    expect(others).toEqual([]);
    expect(record).toMatchObject({
      v: 1,
      run: runId,
      goal: "switch",
      outcome: "succeeded",
      system: await fleet().host("s1").currentSystem(),
      git: { rev, dirty: false },
    });
    expect(`${record?.user ?? ""}@${record?.from ?? ""}`).toBe(me);
    expect(Date.now() - Date.parse(record?.time ?? "")).toBeLessThan(120_000);
    expect(record?.generation).toBeGreaterThan(0);

    const mode = await fleet().host("s1").run(["stat", "-c", "%a %U", "/nix/var/hive/history.jsonl"]);
    expect(mode.stdout.trim()).toBe("600 root");

    // A failed activation is recorded as rolled back, from a dirty tree.
    await writeHive(
      { s1: `deployment.keys."token".text = "${secret}"; system.activationScripts.bad = "exit 3";` },
      dir,
    );
    const failed = await run(dir, ["apply", "--on", "s1"]);
    expect(failed.code).toBe(1);
    await writeHive({ s1: `deployment.keys."token".text = "${secret}"; environment.etc.t.text = "t";` }, dir);
    expect((await run(dir, ["apply", "test", "--on", "s1"])).code).toBe(0);

    const records = await history("s1");
    expect(records.map((r) => [r.goal, r.outcome, r.git?.dirty])).toEqual([
      ["switch", "succeeded", false],
      ["switch", "rolled-back", true],
      ["test", "succeeded", true],
    ]);
    expect(records[1]?.previousGeneration).toBe(record?.generation);
    expect(records[2]?.generation).toBeUndefined(); // test leaves the profile alone
    const raw = await fleet().host("s1").run(["cat", "/nix/var/hive/history.jsonl"]);
    expect(raw.stdout).not.toContain(secret);
  });

  it("tells up to date, drifted (by the hive or behind its back), unknown profile and unreachable apart", async () => {
    const dir = await writeHive();
    const applied = await run(dir, ["apply", "--on", "s2,s3,s4"]);
    expect(applied.code, applied.stderr).toBe(0);

    // s3 is switched behind hive's back to a system built here; s4 to one this machine never had.
    const clientKey = await fleet().clientPublicKey();
    const manual = await nixBuild(systemExpression({ hostName: "s3-by-hand", rootKeys: [clientKey] }));
    expect((await nixCopy(fleet(), "s3", manual)).code).toBe(0);
    const s3 = fleet().host("s3");
    const switched = await s3.run([
      "sh",
      "-c",
      `nix-env -p /nix/var/nix/profiles/system --set ${manual} && ${manual}/bin/switch-to-configuration switch`,
    ]);
    expect(switched.code, switched.stderr).toBe(0);
    const foreign = await fleet()
      .host("s4")
      .run([
        "sh",
        "-c",
        'mkdir -p /tmp/foreign/bin && p=$(nix-store --add /tmp/foreign) && nix-env -p /nix/var/nix/profiles/system --set "$p" && ln -sfn "$p" /run/current-system && echo "$p"',
      ]);
    expect(foreign.code, foreign.stderr).toBe(0);

    // s1 runs an older configuration of the hive (from the test before); s2 is up to date.
    await fleet().host("s1").stopSshd();
    let rows: { node: string; verdict: string; reason?: string; since?: string; switchedBy?: string }[];
    try {
      const status = await run(dir, ["status", "--json"]);
      expect(status.code, status.stderr).toBe(1); // s1 could not be assessed
      rows = JSON.parse(status.stdout) as typeof rows;
    } finally {
      await fleet().startSshd("s1");
    }
    const by = new Map(rows.map((r) => [r.node, r]));
    expect(by.get("s1")).toMatchObject({ verdict: "unreachable" });
    expect(by.get("s2")).toMatchObject({ verdict: "up-to-date", switchedBy: me });
    expect(by.get("s3")?.verdict).toBe("drifted");
    expect(by.get("s3")?.reason).toMatch(/changed outside hive/);
    expect(Date.now() - Date.parse(by.get("s3")?.since ?? "")).toBeLessThan(120_000);
    expect(by.get("s4")).toMatchObject({ verdict: "unknown-profile" });

    expect((await run(dir, ["status", "--on", "s2", "--check"])).code).toBe(0);
    expect((await run(dir, ["status", "--on", "s2,s3", "--check"])).code).toBe(1);
    const table = await run(dir, ["status", "--on", "s2,s3"]);
    expect(table.stdout).toMatch(/s2\s+│?\s*up-to-date/);
    expect(table.stdout).toMatch(/s3\s+│?\s*drifted/);

    // s1's last activation was `test` (the test before): it boots what the hive says but runs another.
    // A change to s2 in the hive makes s2 drift.
    await writeHive({ s2: 'environment.etc."v".text = "2";' }, dir);
    const drifted = await run(dir, ["status", "--on", "s1,s2", "--json"]);
    const [one, two] = JSON.parse(drifted.stdout) as typeof rows;
    expect([one?.node, one?.verdict, two?.node, two?.verdict]).toEqual(["s1", "drifted", "s2", "drifted"]);
    expect(one?.reason).toMatch(/boots the desired system but runs another/);
    expect(two?.reason).toMatch(/the hive has changed since .* deployed it/);
  });

  it("diffs the new systems against what the hosts run, grouped across nodes, and asks before switching with --confirm", async () => {
    const v1 = "environment.systemPackages = [ pkgs.nginx pkgs.vim ];";
    const v2 = 'environment.systemPackages = [ (pkgs.mkProgram { pname = "nginx"; version = "1.25.3"; }) pkgs.htop ];';
    const dir = await writeHive({ s1: v1, s2: v1 });
    expect((await run(dir, ["apply", "--on", "s1,s2"])).code).toBe(0);
    const before = await fleet().host("s1").currentSystem();
    await writeHive({ s1: v2, s2: v2 }, dir);

    const diff = await run(dir, ["diff", "--on", "s1,s2"]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/^2 of 2 nodes change:$/m);
    expect(diff.stdout).toMatch(
      /^ {2}s1: 5 package changes, \d+ rebuilt; \d+ paths added, \d+ removed \([+-][\d.]+ K?i?B/m,
    );
    expect(diff.stdout).toMatch(/^ {2}2 nodes \(s1, s2\): nginx 1\.24\.0 -> 1\.25\.3$/m);
    expect(diff.stdout).toMatch(/^ {2}2 nodes \(s1, s2\): \+ htop 3\.2\.2$/m);
    expect(diff.stdout).toMatch(/^ {2}2 nodes \(s1, s2\): - vim 9\.0\.2048$/m);
    expect(diff.stdout).toMatch(/^ {2}2 nodes \(s1, s2\): - openssl 3\.0\.12$/m); // nginx 1.24.0 needed it
    const json = JSON.parse((await run(dir, ["diff", "--on", "s1", "--json"])).stdout) as {
      nodes: { node: string; kind: string; current: string; diff: { changes: { kind: string; name: string }[] } }[];
    };
    expect(json.nodes[0]).toMatchObject({ node: "s1", kind: "change", current: before });
    expect(json.nodes[0]?.diff.changes.map((c) => `${c.kind} ${c.name}`)).toEqual([
      "added htop",
      "upgraded nginx",
      "removed openssl",
      "removed vim",
      "removed zlib",
    ]);
    expect(await fleet().host("s1").currentSystem()).toBe(before); // diff changes nothing

    const notty = await run(dir, ["apply", "--on", "s1", "--confirm"]);
    expect(notty.code).toBe(2);
    expect(notty.stderr).toMatch(/--confirm asks on a terminal[\s\S]*hint: pass --yes/);

    const termEnv = { ...env(), NIX_PATH: "" };
    const command = `sh -c 'cd ${dir} && ${process.execPath} ${hiveBin} apply --on s1,s2 --confirm'`;
    const declined = await TmuxSession.start(command, { env: termEnv });
    try {
      await declined.waitFor(/Deploy to 2 node\(s\)\? \[y\/N\]/);
      expect(await declined.screen()).toMatch(/nginx 1\.24\.0 -> 1\.25\.3/);
      await declined.send("n", "Enter");
      expect(await declined.waitFor(/\[exit \d+\]/)).toMatch(/nothing deployed\s+\[exit 1\]/);
    } finally {
      await declined.kill();
    }
    expect(await fleet().host("s1").currentSystem()).toBe(before);

    const accepted = await TmuxSession.start(command, { env: termEnv });
    try {
      await accepted.waitFor(/\[y\/N\]/);
      await accepted.send("y", "Enter");
      expect(await accepted.waitFor(/\[exit \d+\]/)).toMatch(/s2: succeeded[\s\S]*\[exit 0\]/);
    } finally {
      await accepted.kill();
    }
    expect(await fleet().host("s1").currentSystem()).not.toBe(before);
    const yes = await run(dir, ["apply", "--on", "s1,s2", "--confirm", "--yes"]);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/^ {2}s1: unchanged$/m);
  });
});
