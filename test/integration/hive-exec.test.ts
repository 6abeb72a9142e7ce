import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";

describe("hive exec on a real fleet", () => {
  const fleet = useFleet({ hosts: 4 });

  async function hiveDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "hive-exec-"));
    await writeFile(
      join(dir, "hive.nix"),
      `{
        meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
        h1 = { deployment.tags = [ "web" ]; };
        h2 = { deployment.tags = [ "web" ]; deployment.targetUser = "deploy"; };
        h3 = { deployment.tags = [ "db" ]; };
        h4 = { deployment.tags = [ "db" ]; };
        laptop = { deployment.targetHost = null; };
      }`,
    );
    return dir;
  }
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "" });

  it("runs on the selected nodes, output prefixed by node, with a summary", async () => {
    const dir = await hiveDir();
    const result = await hive(["exec", "--on", "@web", "--", "sh", "-c", "id -un; echo to-stderr >&2"], {
      cwd: dir,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n").sort()).toEqual(["", "h1 | root", "h2 | deploy"]);
    expect(result.stderr).toMatch(/^h1 \| to-stderr$/m);
    expect(result.stderr).toMatch(/^h1: ok\nh2: ok$/m);
  });

  it("reports each node's exit status and fails when any node failed", async () => {
    const dir = await hiveDir();
    await fleet().host("h4").stopSshd();
    try {
      const result = await hive(
        [
          "exec",
          "-p",
          "2",
          "--",
          "sh",
          "-c",
          'test "$(hostname)" != never && test -e /etc/ssh/hive-testbed-host && exit 3',
        ],
        {
          cwd: dir,
          env: env(),
        },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^h1: exit 3$/m);
      expect(result.stderr).toMatch(/^h4: failed: root@h4 \(127\.0\.0\.1\):\d+: cannot connect/m);
      expect(result.stderr).toMatch(/^laptop: skipped: deployment\.targetHost is null/m);
    } finally {
      await fleet().startSshd("h4");
    }
  });

  it("passes hostile arguments through as words", async () => {
    const dir = await hiveDir();
    const result = await hive(
      ["exec", "--on", "h3", "--", "printf", "[%s]", "$(touch /tmp/hive-pwned)", "it's", "a b"],
      { cwd: dir, env: env() },
    );
    expect(result.stdout).toBe("h3 | [$(touch /tmp/hive-pwned)][it's][a b]\n");
    expect(existsSync("/tmp/hive-pwned")).toBe(false);
  });

  it("needs a command", async () => {
    const result = await hive(["exec"], { cwd: await hiveDir(), env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/hive exec needs a command/);
  });

  it("takes one value per --on: the words after it are the command", async () => {
    const dir = await hiveDir();
    const result = await hive(["exec", "--on", "h1", "uname"], { cwd: dir, env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("h1 | Linux\n");
  });
});
