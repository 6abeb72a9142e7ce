import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { HiveError } from "@hive/core";
import { miniNixpkgsPath } from "@hive/testbed";
import { OpenSshTransport, SshTransport, SshTransportPool, type SshTarget } from "@hive/ssh";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";

const run = promisify(execFile);
const target = (host: string): SshTarget => ({ host, port: null, user: null, sshOptions: [], node: host });

/**
 * The OpenSSH transport: what ssh2 cannot do (user certificates, host certificates), and every
 * core step of a deploy over it (push, switch, keys, exec, unchanged skip).
 */
describe("the OpenSSH transport", () => {
  const fleet = useFleet({ hosts: 2 });
  const dirs: string[] = [];
  afterAll(async () => {
    const { rm } = await import("node:fs/promises");
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** A CA that signs a user key for root and h1's host key; h1's sshd trusts it. */
  async function certificates(): Promise<{ dir: string; userKey: string; ca: string }> {
    const dir = await mkdtemp(join(tmpdir(), "hive-certs-"));
    dirs.push(dir);
    const ca = join(dir, "ca");
    const userKey = join(dir, "id_user");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", ca]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", userKey]);
    await run("ssh-keygen", ["-q", "-s", ca, "-I", "hive-test", "-n", "root", `${userKey}.pub`]);
    const h1 = fleet().host("h1");
    const etc = h1.paths.etcSsh;
    await run("ssh-keygen", [
      "-q",
      "-s",
      ca,
      "-h",
      "-I",
      "h1",
      "-n",
      "127.0.0.1",
      join(etc, "ssh_host_ed25519_key.pub"),
    ]);
    await mkdir(join(etc, "sshd_config.d"), { recursive: true });
    await writeFile(join(etc, "user_ca.pub"), await readFile(`${ca}.pub`));
    await writeFile(
      join(etc, "sshd_config.d", "ca.conf"),
      "TrustedUserCAKeys /etc/ssh/user_ca.pub\nHostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n",
    );
    await h1.stopSshd();
    await fleet().startSshd("h1");
    return { dir, userKey, ca };
  }

  it("logs in with a user certificate and checks a host certificate, chosen by auto; ssh2 cannot", async () => {
    const { dir, userKey, ca } = await certificates();
    const h1 = fleet().host("h1");
    // Known hosts: the CA alone, no key of h1's own.
    const known = join(dir, "known_hosts");
    await writeFile(known, `@cert-authority [127.0.0.1]:* ${(await readFile(`${ca}.pub`, "utf8")).trim()}\n`);
    const config = join(dir, "ssh_config");
    await writeFile(
      config,
      `Host cert-h1\n  HostName 127.0.0.1\n  Port ${h1.port}\n  User root\n  IdentityFile ${userKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${known}\n  StrictHostKeyChecking yes\n`,
    );
    const sources = { userConfig: config, home: dir };
    const auto = new SshTransportPool(sources, undefined, "auto");
    const t = auto.transportFor(target("cert-h1"), []);
    expect(t).toBeInstanceOf(OpenSshTransport);
    expect((t as OpenSshTransport).openssh.reason).toBe(`a user certificate (${userKey}-cert.pub)`);
    const first = await t.exec(["cat", "/proc/sys/kernel/random/boot_id"]);
    expect(first.stdout.trim()).toBe(await h1.bootId());
    // Every command after the first rides the same master connection.
    await Promise.all([t.exec(["true"]), t.exec(["true"])]);
    expect(t.connectionsOpened).toBe(1);
    await auto.closeAll();

    const ssh2 = new SshTransportPool(sources, undefined, "ssh2");
    const refused = ssh2.transportFor(target("cert-h1"), []);
    expect(refused).toBeInstanceOf(SshTransport);
    const error = await refused.exec(["true"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HiveError);
    expect((error as HiveError).message).toMatch(/@cert-authority .* cannot be checked/);
    await ssh2.closeAll();
  });

  it("deploys over OpenSSH: push, switch, keys, exec, and skips a host already up to date", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-openssh-apply-"));
    dirs.push(dir);
    await writeFile(join(dir, "token"), "openssh-secret");
    await writeFile(
      join(dir, "hive.nix"),
      `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  defaults = { name, ... }: { networking.hostName = name; system.activationScripts.mark = "echo \${name} > /run/activated-as"; };
  h2 = { deployment.keys.token.keyFile = ./token; };
  h1 = { deployment.sshTransport = "openssh"; };
}
`,
    );
    const env = { SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" };
    const applied = await hive(["apply", "--ssh", "openssh", "--on", "h2"], { cwd: dir, env });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stderr).toMatch(/node h2: reached through OpenSSH \(ssh\), for --ssh openssh/);
    expect(applied.stdout).toMatch(/^h2: succeeded/m);
    expect((await fleet().host("h2").run(["cat", "/run/activated-as", "/run/keys/token"])).stdout).toBe(
      "h2\nopenssh-secret",
    );
    const again = await hive(["apply", "--ssh", "openssh", "--on", "h2"], { cwd: dir, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^h2: unchanged/m);
    const exec = await hive(["exec", "--ssh", "openssh", "--on", "h2", "cat", "/run/activated-as"], { cwd: dir, env });
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/h2/);
    // A node can ask for OpenSSH itself (deployment.sshTransport); --ssh auto honours it.
    const own = await hive(["apply", "--on", "h1"], { cwd: dir, env });
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.stderr).toMatch(/node h1: reached through OpenSSH \(ssh\), for deployment\.sshTransport = openssh/);
    expect(own.stderr).not.toMatch(/node h2/);
  });
});
