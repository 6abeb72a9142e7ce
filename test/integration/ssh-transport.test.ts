import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { HiveError } from "@hive/core";
import { fingerprint, SshTransport, SshTransportPool, type SshTarget } from "@hive/ssh";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";

const run = promisify(execFile);
const SUDO = ["sudo", "-H", "--"];
const target = (host: string, extra: Partial<SshTarget> = {}): SshTarget => ({
  host,
  port: null,
  user: null,
  sshOptions: [],
  node: host,
  ...extra,
});

/** The ssh2 transport a plain host gets (the OpenSSH one opens no connection ahead). */
function ssh2(transport: unknown): SshTransport {
  if (!(transport instanceof SshTransport)) throw new Error("expected the ssh2 transport");
  return transport;
}

async function failure(work: Promise<unknown>): Promise<HiveError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof HiveError) return error;
    throw error;
  }
  throw new Error("expected a failure");
}

describe("the SSH transport (ssh2) against real sshd", () => {
  const fleet = useFleet({ hosts: 3 });
  const pool = (userConfig = fleet().sshConfigPath, agent?: string) =>
    new SshTransportPool({ userConfig, home: join(fleet().dir, "home") }, agent);

  it("runs argv through the ssh_config alias, exit codes and hostile words intact", async () => {
    const p = pool();
    const t = p.transportFor(target("h1"), SUDO);
    const words = ["it's", "$(touch /tmp/hive-pwned)", "two words", "*", ";id"];
    const echoed = await t.exec(["printf", "%s\\n", ...words]);
    expect(echoed.stdout.split("\n").slice(0, -1)).toEqual(words);
    const failed = await t.exec(["sh", "-c", "echo oops >&2; exit 7"]);
    expect(failed).toMatchObject({ exitCode: 7, stderr: "oops\n" });
    const input = await t.exec(["wc", "-c"], { stdin: "12345" });
    expect(input.stdout.trim()).toBe("5");
    await p.closeAll();
  });

  it("reuses one connection for every command, side by side", async () => {
    const link = await fleet().link("h2");
    const before = link.connectionsAccepted;
    const p = pool();
    const t = p.transportFor(target("h2-link"), SUDO);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.exec(["sh", "-c", `sleep 0.2; echo ${i}`])),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    expect(link.connectionsAccepted - before).toBe(1);
    expect(t.connectionsOpened).toBe(1);
    // A dropped connection is opened again for the next command.
    link.cut();
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.exec(["echo", "again"])).stdout).toBe("again\n");
    expect(t.connectionsOpened).toBe(2);
    await p.closeAll();
  });

  it("connects ahead when asked (prepare), and anew when that connection sat unused too long", async () => {
    const link = await fleet().link("h2");
    const p = pool();
    const t = ssh2(p.transportFor(target("h2-link"), SUDO));
    const before = link.connectionsAccepted;
    t.prepare();
    t.prepare();
    // The host is connected to before any command.
    for (let i = 0; i < 100 && link.connectionsAccepted === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(link.connectionsAccepted - before).toBe(1);
    expect((await t.exec(["echo", "ahead"])).stdout).toBe("ahead\n");
    expect(t.connectionsOpened).toBe(1);
    await p.closeAll();
    // Unused for longer than a long build may take (a link that died meanwhile goes unnoticed until
    // keepalive's probes): the first command opens a new connection.
    const q = pool();
    const u = ssh2(q.transportFor(target("h2-link"), SUDO));
    const now = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(now);
    try {
      u.prepare();
      clock.mockReturnValue(now + 31_000);
      expect((await u.exec(["echo", "later"])).stdout).toBe("later\n");
    } finally {
      clock.mockRestore();
    }
    expect(u.connectionsOpened).toBe(2);
    await q.closeAll();
    // A host that accepts and then says nothing: the run's end gives its handshake up, it does
    // not wait for the 15 s timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const r = pool();
    ssh2(r.transportFor(target("127.0.0.1", { port: address.port }), SUDO)).prepare();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = Date.now();
    await r.closeAll();
    expect(Date.now() - closing).toBeLessThan(2_000);
    silent.close();
  });

  it("keeps a push to a near OpenSSH host to half its window in flight and a little queued, and every byte arrives", async () => {
    const p = pool();
    const t = p.transportFor(target("h3"), SUDO);
    // How near the host is comes from how quickly commands start: a few, as a push has before it.
    for (let i = 0; i < 5; i++) await t.exec(["true"]);
    const data = randomBytes(8 * 1024 * 1024);
    let pulled = 0;
    // Chunks handed over only as the channel takes them: what it has taken is in flight or queued.
    const input = Readable.from(
      (function* () {
        for (let at = 0; at < data.length; at += 65536) {
          pulled += Math.min(65536, data.length - at);
          yield data.subarray(at, at + 65536);
        }
      })(),
    );
    // The host reads nothing for 2 s: the window is all that can leave meanwhile.
    const pushed = t.exec(["sh", "-c", "sleep 2; sha256sum"], { stdin: input });
    pushed.catch(() => undefined);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // sshd's window is 2 MiB, and ssh2 would queue up to 2 MiB more in the channel: held to half
      // the window and a quarter MiB queued, about 1.4 MiB has been taken (3.1 MiB with ssh2's own
      // queue, 2.4 MiB with the whole window in flight).
      const mib = 1024 * 1024;
      expect(pulled).toBeGreaterThan(1 * mib);
      expect(pulled).toBeLessThan(2 * mib);
      const result = await pushed;
      expect(result.stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    } finally {
      await p.closeAll();
    }
  });

  it("stops a command whose run is interrupted while its channel is being opened", async () => {
    await fleet().link("h3", { latencyMs: 200 });
    const p = pool();
    const t = p.transportFor(target("h3-link"), SUDO);
    await t.exec(["true"]);
    const stop = new AbortController();
    const started = Date.now();
    const running = t.exec(["sleep", "5"], { signal: stop.signal });
    // The channel's opening is on its way (200 ms each way) when the run is interrupted.
    await new Promise((r) => setTimeout(r, 50));
    stop.abort(new Error("interrupted"));
    await expect(running).rejects.toThrow("interrupted");
    expect(Date.now() - started).toBeLessThan(2000);
    await p.closeAll();
  });

  it("refuses a changed host key, naming both fingerprints", async () => {
    const config = join(fleet().dir, "ssh_config_wrong_key");
    const known = join(fleet().dir, "known_hosts_wrong_key");
    const h1 = fleet().host("h1");
    const h3 = fleet().host("h3");
    await writeFile(known, `${h1.knownHostsLine().replace(h1.hostKey, h3.hostKey)}\n`);
    await writeFile(config, (await readFile(fleet().sshConfigPath, "utf8")).replaceAll(fleet().knownHostsPath, known));
    const error = await failure(pool(config).transportFor(target("h1"), SUDO).exec(["true"]));
    expect(error.code).toBe("HIVE_SSH_HOST_KEY_MISMATCH");
    const blob = (line: string) => Buffer.from(line.split(" ")[1] ?? "", "base64");
    expect(error.message).toContain(fingerprint(blob(h1.hostKey)));
    expect(error.message).toContain(fingerprint(blob(h3.hostKey)));
    expect(error.message).toContain(`${known}:1`);
  });

  it("accepts a new host key by default (accept-new) and refuses it with StrictHostKeyChecking yes", async () => {
    const known = join(fleet().dir, "known_hosts_new");
    const config = join(fleet().dir, "ssh_config_new");
    const h1 = fleet().host("h1");
    await writeFile(
      config,
      `Host fresh\n  HostName 127.0.0.1\n  Port ${h1.port}\n  User root\n  IdentityFile ${fleet().clientKeyPath}\n  UserKnownHostsFile ${known}\n`,
    );
    const ok = await pool(config).transportFor(target("fresh"), SUDO).exec(["true"]);
    expect(ok.exitCode).toBe(0);
    expect(await readFile(known, "utf8")).toBe(`${h1.knownHostsLine()}\n`);
    await writeFile(known, "");
    const strict = await failure(
      pool(config)
        .transportFor(target("fresh", { sshOptions: ["-o", "StrictHostKeyChecking=yes"] }), SUDO)
        .exec(["true"]),
    );
    expect(strict.code).toBe("HIVE_SSH_HOST_KEY_UNKNOWN");
  });

  it("checks the system's known hosts too: a declared key wins over accept-new, @revoked refuses", async () => {
    const user = join(fleet().dir, "known_hosts_user");
    const system = join(fleet().dir, "ssh_known_hosts_system");
    const config = join(fleet().dir, "ssh_config_system");
    const h1 = fleet().host("h1");
    const h3 = fleet().host("h3");
    await writeFile(user, "");
    await writeFile(
      config,
      `Host declared\n  HostName 127.0.0.1\n  Port ${h1.port}\n  User root\n  IdentityFile ${fleet().clientKeyPath}\n  UserKnownHostsFile ${user}\n  GlobalKnownHostsFile ${system}\n  StrictHostKeyChecking accept-new\n`,
    );
    // As NixOS's programs.ssh.knownHosts declares it, with another host's key.
    await writeFile(system, `${h1.knownHostsLine().replace(h1.hostKey, h3.hostKey)}\n`);
    const refused = await failure(pool(config).transportFor(target("declared"), SUDO).exec(["true"]));
    expect(refused.code).toBe("HIVE_SSH_HOST_KEY_MISMATCH");
    const blob = (line: string) => Buffer.from(line.split(" ")[1] ?? "", "base64");
    expect(refused.message).toContain(fingerprint(blob(h1.hostKey)));
    expect(refused.message).toContain(fingerprint(blob(h3.hostKey)));
    expect(refused.message).toContain(`${system}:1`);
    // accept-new wrote nothing: the host is declared, so it is not new.
    expect(await readFile(user, "utf8")).toBe("");

    await writeFile(system, `${h1.knownHostsLine()}\n`);
    expect((await pool(config).transportFor(target("declared"), SUDO).exec(["true"])).exitCode).toBe(0);
    expect(await readFile(user, "utf8")).toBe("");

    await writeFile(system, `@revoked ${h1.knownHostsLine()}\n`);
    await writeFile(user, `${h1.knownHostsLine()}\n`);
    const revoked = await failure(pool(config).transportFor(target("declared"), SUDO).exec(["true"]));
    expect(revoked.code).toBe("HIVE_SSH_HOST_KEY_MISMATCH");
    expect(revoked.message).toContain(`revoked (@revoked at ${system}:1)`);
  });

  it("names an encrypted identity it cannot use, with the ssh-add hint", async () => {
    const key = join(fleet().dir, "id_encrypted");
    await copyFile(fleet().clientKeyPath, key);
    await run("ssh-keygen", ["-q", "-p", "-N", "passphrase", "-f", key]);
    const config = join(fleet().dir, "ssh_config_encrypted");
    await writeFile(config, (await readFile(fleet().sshConfigPath, "utf8")).replaceAll(fleet().clientKeyPath, key));
    const error = await failure(pool(config).transportFor(target("h2"), SUDO).exec(["true"]));
    expect(error.code).toBe("HIVE_SSH_AUTH_FAILED");
    expect(error.message).toContain(`skipped ${key}: encrypted, and hive cannot ask for a passphrase`);
    expect(error.hint).toBe(`add the key to your agent: ssh-add ${key} (with SSH_AUTH_SOCK set for hive)`);
  });

  it("reads hashed known_hosts entries", async () => {
    const hashed = join(fleet().dir, "known_hosts_hashed");
    await copyFile(fleet().knownHostsPath, hashed);
    await run("ssh-keygen", ["-H", "-f", hashed]);
    expect(await readFile(hashed, "utf8")).toMatch(/^\|1\|/);
    const config = join(fleet().dir, "ssh_config_hashed");
    await writeFile(config, (await readFile(fleet().sshConfigPath, "utf8")).replaceAll(fleet().knownHostsPath, hashed));
    expect((await pool(config).transportFor(target("h2"), SUDO).exec(["true"])).exitCode).toBe(0);
  });

  it("jumps through a ProxyJump host", async () => {
    const link = await fleet().link("h1");
    const config = join(fleet().dir, "ssh_config_jump");
    const h3 = fleet().host("h3");
    await writeFile(
      config,
      `${await readFile(fleet().sshConfigPath, "utf8")}\nHost behind-h1\n  HostName 127.0.0.1\n  Port ${h3.port}\n  User root\n  IdentityFile ${fleet().clientKeyPath}\n  UserKnownHostsFile ${fleet().knownHostsPath}\n  ProxyJump h1-link\n`,
    );
    const before = link.connectionsAccepted;
    const result = await pool(config)
      .transportFor(target("behind-h1"), SUDO)
      .exec(["cat", "/proc/sys/kernel/random/boot_id"]);
    expect(result.stdout.trim()).toBe(await h3.bootId());
    expect(link.connectionsAccepted - before).toBe(1);
  });

  it("reaches a host through a ProxyCommand bastion, and through two ProxyJump hops", async () => {
    const link = await fleet().link("h1");
    const config = join(fleet().dir, "ssh_config_proxies");
    const h3 = fleet().host("h3");
    const behind = (name: string, how: string) =>
      `Host ${name}\n  HostName 127.0.0.1\n  Port ${h3.port}\n  User root\n  IdentityFile ${fleet().clientKeyPath}\n  UserKnownHostsFile ${fleet().knownHostsPath}\n  ${how}\n`;
    await writeFile(
      config,
      [
        await readFile(fleet().sshConfigPath, "utf8"),
        // OpenSSH as the bastion's client, as operators write it; %h and %p are h3's.
        behind("via-command", `ProxyCommand ssh -F ${fleet().sshConfigPath} -o BatchMode=yes -W %h:%p h1-link`),
        behind("via-two-hops", "ProxyJump h1-link,h2"),
        behind("via-nothing", "ProxyCommand sh -c 'echo no route to the bastion >&2; exit 1'"),
      ].join("\n"),
    );
    for (const alias of ["via-command", "via-two-hops"]) {
      const before = link.connectionsAccepted;
      const p = pool(config);
      const result = await p.transportFor(target(alias), SUDO).exec(["cat", "/proc/sys/kernel/random/boot_id"]);
      expect(result.stdout.trim(), alias).toBe(await h3.bootId());
      expect(link.connectionsAccepted - before, alias).toBe(1);
      await p.closeAll();
    }
    const failed = await failure(pool(config).transportFor(target("via-nothing"), SUDO).exec(["true"]));
    expect(failed.code).toBe("HIVE_SSH_CONNECT_FAILED");
    expect(failed.message).toMatch(/cannot connect through ProxyCommand .*: no route to the bastion/);

    // A whole deploy through the bastion: h3 is reached only through h1's ProxyCommand.
    const dir = join(fleet().dir, "proxied-hive");
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "hive.nix"),
      `{\n  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };\n  h3 = { deployment.targetHost = "via-command"; networking.hostName = "h3"; };\n}\n`,
    );
    const before = link.connectionsAccepted;
    const applied = await hive(["apply"], {
      cwd: dir,
      env: { SSH_CONFIG_FILE: config, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" },
    });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^h3: succeeded/m);
    expect(await h3.currentSystem()).toMatch(/nixos-system-h3/);
    expect(link.connectionsAccepted - before).toBeGreaterThan(0);
  });

  it("resolves Include and Match as OpenSSH does (ssh -G): port, user and an IdentityFile with %h", async () => {
    const dir = join(fleet().dir, "include-match");
    await mkdir(join(dir, "fragments"), { recursive: true });
    await mkdir(join(dir, "keys"), { recursive: true });
    const h2 = fleet().host("h2");
    await copyFile(fleet().clientKeyPath, join(dir, "keys", "127.0.0.1"));
    await writeFile(
      join(dir, "fragments", "fleet.conf"),
      `Match host fragment-host\n  HostName 127.0.0.1\n  Port ${h2.port}\n  User root\n  IdentityFile ${dir}/keys/%h\n  IdentitiesOnly yes\n`,
    );
    const config = join(dir, "config");
    await writeFile(
      config,
      `Include ${dir}/fragments/*.conf\nHost *\n  UserKnownHostsFile ${fleet().knownHostsPath}\n  StrictHostKeyChecking yes\n`,
    );
    const t = pool(config).transportFor(target("fragment-host"), SUDO);
    expect(t.host).toMatchObject({
      hostName: "127.0.0.1",
      port: h2.port,
      user: "root",
      identityFiles: [join(dir, "keys", "127.0.0.1")],
      strictHostKeyChecking: "yes",
    });
    const result = await t.exec(["cat", "/proc/sys/kernel/random/boot_id"]);
    expect(result.stdout.trim()).toBe(await h2.bootId());
  });

  it("authenticates with ssh-agent, and says what it tried when nothing works", async () => {
    const socket = join(fleet().dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await run("ssh-add", [fleet().clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const h2 = fleet().host("h2");
      const config = join(fleet().dir, "ssh_config_agent");
      await writeFile(
        config,
        `Host by-agent\n  HostName 127.0.0.1\n  Port ${h2.port}\n  User root\n  UserKnownHostsFile ${fleet().knownHostsPath}\n`,
      );
      expect((await pool(config, socket).transportFor(target("by-agent"), SUDO).exec(["true"])).exitCode).toBe(0);
      const denied = await failure(pool(config, undefined).transportFor(target("by-agent"), SUDO).exec(["true"]));
      expect(denied.code).toBe("HIVE_SSH_AUTH_FAILED");
      expect(denied.message).toMatch(
        /root@by-agent \(127\.0\.0\.1\):\d+: authentication failed \(tried 0 identity file\(s\)\)/,
      );
    } finally {
      agent.kill();
    }
  });

  it("honours deployment.sshOptions (-p, -i, -o)", async () => {
    const h3 = fleet().host("h3");
    const t = pool("/nonexistent").transportFor(
      target("127.0.0.1", {
        sshOptions: [
          "-p",
          String(h3.port),
          "-i",
          fleet().clientKeyPath,
          "-o",
          `UserKnownHostsFile=${fleet().knownHostsPath}`,
          "-oUser=root",
          // Flags real Colmena hives carry: honoured (-4, -C), already so (-T, -q), or no effect (-A, -v).
          "-A",
          "-q",
          "-4C",
          "-T",
          "-vv",
          "-o",
          "ServerAliveInterval=5",
        ],
      }),
      SUDO,
    );
    expect(t.host).toMatchObject({ addressFamily: "inet", compression: true, serverAliveIntervalMs: 5000 });
    expect(t.host.ignoredOptions).toEqual([
      "-A: hive never forwards the agent to a target",
      expect.stringMatching(/^-v: hive has no ssh debug output/),
    ]);
    expect((await t.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout.trim()).toBe(await h3.bootId());
    const bad = await failure(
      Promise.resolve().then(() => pool().transportFor(target("h1", { sshOptions: ["-Z"] }), SUDO)),
    );
    expect(bad.message).toMatch(/node h1: deployment.sshOptions has -Z, which ssh\(1\) does not know/);
  });

  it("escalates privileges for a non-root user, and explains a sudo that wants a password", async () => {
    const p = pool();
    const deploy = p.transportFor(target("h1", { user: "deploy" }), SUDO);
    expect((await deploy.exec(["id", "-u"])).stdout.trim()).toBe("2001");
    expect((await deploy.exec(["id", "-u"], { privileged: true })).stdout.trim()).toBe("0");
    const withPassword = p.transportFor(target("h1", { user: "deploy-pw" }), SUDO);
    const error = await failure(withPassword.exec(["id", "-u"], { privileged: true }));
    expect(error.code).toBe("HIVE_PRIVILEGE_ESCALATION_FAILED");
    expect(error.hint).toMatch(/NOPASSWD/);
    await p.closeAll();
  });

  it("names the host when it is down or the key is refused", async () => {
    await fleet().host("h3").stopSshd();
    const down = await failure(pool().transportFor(target("h3"), SUDO).exec(["true"]));
    expect(down.code).toBe("HIVE_SSH_CONNECT_FAILED");
    expect(down.message).toMatch(/^root@h3 \(127\.0\.0\.1\):\d+: cannot connect: .*ECONNREFUSED/);
    // Connecting ahead fails quietly: the first command says why, as above.
    const ahead = ssh2(pool().transportFor(target("h3"), SUDO));
    ahead.prepare();
    await new Promise((r) => setTimeout(r, 200));
    expect((await failure(ahead.exec(["true"]))).message).toBe(down.message);
    await fleet().startSshd("h3");
    const original = await fleet().host("h2").authorizedKeys();
    await fleet().host("h2").setAuthorizedKeys([]);
    const refused = await failure(pool().transportFor(target("h2"), SUDO).exec(["true"]));
    expect(refused.code).toBe("HIVE_SSH_AUTH_FAILED");
    await fleet().host("h2").setAuthorizedKeys([original]);
  });
});
