import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveSshTarget, type SshTarget } from "./ssh-config.js";

async function configs(user: string, system = ""): Promise<{ userConfig: string; systemConfig: string; home: string }> {
  const dir = await mkdtemp(join(tmpdir(), "hive-ssh-config-"));
  await writeFile(join(dir, "user"), user);
  await writeFile(join(dir, "system"), system);
  return { userConfig: join(dir, "user"), systemConfig: join(dir, "system"), home: dir };
}
const target = (host: string, extra: Partial<SshTarget> = {}): SshTarget => ({
  host,
  port: null,
  user: null,
  sshOptions: [],
  node: host,
  ...extra,
});

describe("resolveSshTarget", () => {
  it("applies Host aliases and patterns, first value wins, user config before system config", async () => {
    const sources = await configs(
      "Host web-*\n  HostName %h.example.net\n  Port 2201\n  IdentityFile ~/.ssh/web\nHost *\n  Port 2299\n  User deployer\n  IdentityFile ~/.ssh/all\n",
      "Host *\n  User nobody\n  ConnectTimeout 7\n  StrictHostKeyChecking yes\n",
    );
    const host = resolveSshTarget(target("web-3"), sources);
    expect(host).toMatchObject({
      hostName: "web-3.example.net",
      port: 2201,
      user: "deployer",
      identityFiles: [join(sources.home, ".ssh/web"), join(sources.home, ".ssh/all")],
      connectTimeoutMs: 7000,
      strictHostKeyChecking: "yes",
      knownHostsFiles: [join(sources.home, ".ssh/known_hosts"), join(sources.home, ".ssh/known_hosts2")],
    });
  });

  it("lets sshOptions and targetPort/targetUser override ssh_config", async () => {
    const sources = await configs("Host db\n  HostName 10.0.0.5\n  Port 22\n  User admin\n");
    expect(resolveSshTarget(target("db", { sshOptions: ["-o", "Port=2022", "-l", "ops"] }), sources)).toMatchObject({
      port: 2022,
      user: "ops",
    });
    expect(
      resolveSshTarget(target("db", { port: 2200, user: "root", sshOptions: ["-p", "2022"] }), sources),
    ).toMatchObject({ port: 2200, user: "root" });
  });

  it("defaults to accept-new, like Colmena, and resolves ProxyJump chains", async () => {
    const sources = await configs(
      "Host inner\n  ProxyJump jumper@bastion:2222,middle\nHost middle\n  HostName 10.1.1.1\n",
    );
    const host = resolveSshTarget(target("inner"), sources);
    expect(host.strictHostKeyChecking).toBe("accept-new");
    expect(host.proxyJump.map((h) => [h.user, h.hostName, h.port])).toEqual([
      ["jumper", "bastion", 2222],
      [expect.any(String), "10.1.1.1", 22],
    ]);
  });

  it("refuses settings it cannot honour", async () => {
    const sources = await configs("Host odd\n  StrictHostKeyChecking maybe\n");
    expect(() => resolveSshTarget(target("odd"), sources)).toThrow(/StrictHostKeyChecking "maybe"/);
    expect(() => resolveSshTarget(target("x", { sshOptions: ["-o", "Port"] }), sources)).toThrow(/not Key=Value/);
  });

  it("names the settings of a host it does not act on, and takes ProxyCommand whole with its tokens", async () => {
    const sources = await configs(
      "Host db\n  HostName 10.0.0.5\n  CertificateFile ~/.ssh/id_ed25519-cert.pub\n  IdentityAgent /run/agent.sock\n  ProxyCommand ssh -W %h:%p -l %r bastion\n",
      // Debian's /etc/ssh/ssh_config turns GSSAPI on for every host: one more method, not a need.
      "Host *\n  GSSAPIAuthentication yes\n  AddKeysToAgent no\n",
    );
    const host = resolveSshTarget(target("db", { user: "ops" }), sources);
    expect(host.proxyCommand).toBe("ssh -W 10.0.0.5:22 -l ops bastion");
    expect(host.ignoredConfig).toEqual([
      "CertificateFile ~/.ssh/id_ed25519-cert.pub (user certificates need OpenSSH)",
      "IdentityAgent /run/agent.sock (hive asks the agent at SSH_AUTH_SOCK)",
    ]);
  });
});
