import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { runHive, writeHive } from "./fault-kit.js";

describe("inputs that must not slip through", () => {
  const fleet = useFleet({ hosts: [{ name: "i1" }, { name: "i2" }] });

  it("refuses a selection that matches nothing, and deploys nothing", async () => {
    const dir = await writeHive({ i1: 'environment.etc.sel.text = "x";', i2: 'environment.etc.sel.text = "y";' });
    const before = await fleet().host("i1").currentSystem();
    const before2 = await fleet().host("i2").currentSystem();
    const result = await runHive(fleet(), dir, ["apply", "--on", "!i*"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/hive: error: --on "!i\*" selects no node: nothing to switch/);
    // `--on` with nothing after it (an unset $HOSTS) never means every node.
    const empty = await runHive(fleet(), dir, ["apply", "--on", ""]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/hive: error: --on needs nodes/);
    const trailing = await runHive(fleet(), dir, ["apply", "--on"]);
    expect(trailing.code).toBe(2);
    const comma = await runHive(fleet(), dir, ["apply", "--on", ","]);
    expect(comma.code).toBe(2);
    expect(comma.stderr).toMatch(/hive: error: --on "," has an empty item/);
    expect(await fleet().host("i2").currentSystem()).toBe(before2);
    expect(await fleet().host("i1").currentSystem()).toBe(before);
  });

  it("refuses a key destDir that climbs out of its directory, naming node and key", async () => {
    const dir = await writeHive({
      i1: 'deployment.keys.k = { text = "s3cret-climb"; destDir = "/run/keys/../../tmp/escaped"; };',
    });
    const result = await runHive(fleet(), dir, ["apply", "--on", "i1"]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/i1.*deployment\.keys\.k\.destDir: must not contain '\.' or '\.\.'/);
    expect(result.stdout + result.stderr).not.toContain("s3cret-climb");
    expect((await fleet().host("i1").run(["test", "-e", "/tmp/escaped/k"])).code).not.toBe(0);
  });

  it("creates key directories 0750, as NixOS's /run/keys", async () => {
    const dir = await writeHive({ i2: 'deployment.keys.k = { text = "s3cret"; destDir = "/run/hive-keys/app"; };' });
    const result = await runHive(fleet(), dir, ["apply", "--on", "i2"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const path of ["/run/hive-keys", "/run/hive-keys/app"]) {
      const mode = await fleet().host("i2").run(["stat", "-c", "%a", path]);
      expect(mode.stdout.trim(), path).toBe("750");
    }
  });

  it("labels a changed host key as a connect failure, with its hint, under --reactivate too", async () => {
    const dir = await writeHive({ i1: 'environment.etc.hk.text = "1";' });
    const knownHosts = join(fleet().dir, "wrong_known_hosts");
    await writeFile(knownHosts, `${fleet().host("i2").knownHostsLine(fleet().host("i1").port)}\n`);
    const config = join(fleet().dir, "wrong_ssh_config");
    await writeFile(
      config,
      (await readFile(fleet().sshConfigPath, "utf8")).replaceAll(fleet().knownHostsPath, knownHosts),
    );
    const result = await runHive(fleet(), dir, ["apply", "--on", "i1", "--reactivate"], { SSH_CONFIG_FILE: config });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^i1: failed at connect: /m);
    expect(result.stdout).toMatch(/hint: .*ssh-keygen -R/);
  });
});
