import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { traceExecs } from "../support/exec-trace.js";
import { run, ssh } from "../support/run.js";

const secret = (kind: string) => `${kind}-SECRET-${randomBytes(8).toString("hex")}`;

describe("deployment.keys", () => {
  const fleet = useFleet({ hosts: 1 });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  async function writeHive(
    secrets: { text: string; file: string; command: string },
    failingCommand = false,
  ): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "hive-keys-"));
    await writeFile(join(dir, "tls.key"), secrets.file);
    // The command's own argv must not hold the secret (it is the user's, not hive's): it reads it.
    await writeFile(join(dir, "command.secret"), secrets.command);
    const command = failingCommand
      ? `[ "sh" "-c" "cat ${dir}/command.secret >&2; exit 9" ]`
      : `[ "cat" "${dir}/command.secret" ]`;
    await writeFile(
      join(dir, "hive.nix"),
      `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  h1 = {
    deployment.keys = {
      "db-password" = { text = "${secrets.text}"; user = "deploy"; group = "deploy"; permissions = "0640"; };
      "tls.key" = { keyFile = ./tls.key; destDir = "/run/my keys"; permissions = "0400"; };
      "token" = { keyCommand = ${command}; uploadAt = "post-activation"; };
    };
    system.activationScripts.keyOrder = ''
      { test -e /run/keys/db-password && echo pre-present; test -e /run/keys/token || echo post-absent; } > /run/key-order
    '';
  };
}
`,
    );
    return dir;
  }

  it("uploads keys of each source with owner and mode, pre and post activation, and never shows them", async () => {
    const secrets = { text: secret("TEXT"), file: secret("FILE"), command: secret("CMD") };
    const dir = await writeHive(secrets);
    const marker = join(dir, "started");
    await writeFile(marker, "");
    const trace = await traceExecs(fleet(), "h1", dir);
    const result = await run("strace", trace.argv(["apply"]), {
      cwd: dir,
      env: { ...process.env, NIX_PATH: "", ...env() },
      timeoutMs: 90_000,
    });
    const traces = await trace.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);

    const stat = await ssh(
      fleet(),
      "h1",
      "stat -c '%U:%G %a %n' /run/keys/db-password '/run/my keys/tls.key' /run/keys/token",
    );
    expect(stat.stdout.trim().split("\n")).toEqual([
      "deploy:deploy 640 /run/keys/db-password",
      "root:root 400 /run/my keys/tls.key",
      "root:root 600 /run/keys/token",
    ]);
    const contents = await ssh(
      fleet(),
      "h1",
      "cat /run/keys/db-password; echo; cat '/run/my keys/tls.key'; cat /run/keys/token; echo; cat /run/key-order; ls -a /run/keys '/run/my keys'",
    );
    expect(contents.stdout).toContain(`${secrets.text}\n${secrets.file}${secrets.command}\npre-present\npost-absent\n`);
    expect(contents.stdout).not.toMatch(/\.hive-key\./);

    // The traces saw the whole deploy: the local export and the keyCommand, the host's key
    // writer and its activation (a detached process).
    expect(traces.local).toMatch(/execve\("[^"]*nix-store", \["nix-store", "--export"/);
    expect(traces.local).toMatch(/execve\("[^"]*cat", \["cat", "[^"]*command\.secret"\]/);
    expect(traces.host).toMatch(/hive-write-key/);
    expect(traces.host).toMatch(/switch-to-configuration", "switch"/);
    for (const s of Object.values(secrets)) {
      expect(result.stdout + result.stderr).not.toContain(s);
      expect(traces.local.includes(s), `${s} in an argv on this machine`).toBe(false);
      expect(traces.host.includes(s), `${s} in an argv on the host`).toBe(false);
    }
    // Nothing of the keys went into any store: this machine's (what this run added) or the host's.
    // A path's mtime is Nix's constant 1; its ctime is when it was added. Not /nix/store itself
    // nor .links (both change whenever anything is added): that would read the whole store.
    const local = await run(
      "sh",
      [
        "-c",
        'find /nix/store -mindepth 1 -maxdepth 1 -cnewer "$1" ! -name .links -print0 | xargs -0 -r grep -rlF -e "$2" -e "$3" -e "$4"',
        "sh",
        marker,
        secrets.text,
        secrets.file,
        secrets.command,
      ],
      { timeoutMs: 60_000 },
    );
    expect(local.stderr).not.toMatch(/\[killed/);
    expect(local.stdout).toBe("");
    const hostStore = await fleet()
      .host("h1")
      .run(["grep", "-rlF", "-e", secrets.text, "-e", secrets.file, "-e", secrets.command, "/nix/store"]);
    expect(hostStore.stdout).toBe("");
  });

  it("never shows keys in any output format: json, github, -v", async () => {
    const secrets = { text: secret("TEXT"), file: secret("FILE"), command: secret("CMD") };
    const dir = await writeHive(secrets);
    for (const format of [
      ["--log-format", "json"],
      ["--log-format", "github"],
      ["-v"],
      ["--log-format", "plain", "-v"],
    ]) {
      const result = await hive(["apply", "--reactivate", ...format], { cwd: dir, env: env() });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      for (const s of Object.values(secrets)) expect(result.stdout + result.stderr, format.join(" ")).not.toContain(s);
    }
  });

  it("skips keys with --no-keys and uploads every key with upload-keys", async () => {
    const first = { text: secret("TEXT"), file: secret("FILE"), command: secret("CMD") };
    await hive(["apply"], { cwd: await writeHive(first), env: env() });
    const second = { text: secret("TEXT"), file: secret("FILE"), command: secret("CMD") };
    const dir = await writeHive(second);
    const skipped = await hive(["apply", "--no-keys", "--reactivate"], { cwd: dir, env: env() });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect((await ssh(fleet(), "h1", "cat /run/keys/db-password /run/keys/token")).stdout).toBe(
      `${first.text}${first.command}`,
    );
    const uploaded = await hive(["upload-keys"], { cwd: dir, env: env() });
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stderr).not.toMatch(/\| build/);
    expect((await ssh(fleet(), "h1", "cat /run/keys/db-password /run/keys/token")).stdout).toBe(
      `${second.text}${second.command}`,
    );
  });

  it("writes keys with hostile names exactly where they say, through no shell", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-keys-"));
    const name = "it's $(touch hive-pwned) key";
    const destDir = "/run/odd dir; rm -rf /";
    await writeFile(
      join(dir, "hive.nix"),
      `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  h1.deployment.keys.${JSON.stringify(name)} = { text = "hostile"; destDir = ${JSON.stringify(destDir)}; };
}
`,
    );
    const result = await hive(["upload-keys"], { cwd: dir, env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // Read back without a shell: the key is at exactly destDir/name.
    const written = await fleet()
      .host("h1")
      .run(["cat", `${destDir}/${name}`]);
    expect(written.stdout).toBe("hostile");
    expect((await ssh(fleet(), "h1", "ls -a ~ /run")).stdout).not.toContain("hive-pwned");
  });

  it("refuses a key name that is not a file name, naming node and key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hive-keys-"));
    await writeFile(
      join(dir, "hive.nix"),
      `{ meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; }; h1.deployment.keys."../../etc/shadow".text = "x"; }\n`,
    );
    const result = await hive(["upload-keys"], { cwd: dir, env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/node h1: deployment\.keys\.\.\.\/\.\.\/etc\/shadow\.name: must be a file name/);
  });

  it("fails the node when a keyCommand fails, without printing what it wrote", async () => {
    const secrets = { text: secret("TEXT"), file: secret("FILE"), command: secret("CMD") };
    const result = await hive(["upload-keys"], { cwd: await writeHive(secrets, true), env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^h1: failed at keys: node h1: keys: the keyCommand of key token \(sh\) exited with 9/m,
    );
    expect(result.stdout + result.stderr).not.toContain(secrets.command);
  });
});
