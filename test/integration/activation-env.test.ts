import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIVATION_RUNNER } from "@hive/deploy";
import { useFleet } from "../support/fleet.js";
import { expectInvariants, runHive, systemOf, writeHive } from "../faults/fault-kit.js";

/**
 * A stand-in for systemd-run on a testbed host (which has no systemd): it records its argv and
 * runs the unit's command as the service manager would, detached and in an environment of only
 * the --setenv variables and a PATH that holds nothing (NixOS gives units systemd's own bin only).
 */
const FAKE_SYSTEMD_RUN = `#!/bin/sh
printf '%s\\n' "$@" > /run/systemd-run.args
envs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --unit) shift 2 ;;
    --quiet | --collect | --no-ask-password) shift ;;
    --setenv=*) envs="$envs \${1#--setenv=}"; shift ;;
    -*) echo "fake systemd-run: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
# shellcheck disable=SC2086
setsid /usr/bin/env -i PATH=/nonexistent/systemd/bin $envs "$@" < /dev/null > /dev/null 2>&1 &
`;

describe("activation needs nothing from the environment", () => {
  const fleet = useFleet({ hosts: [{ name: "e1" }, { name: "e2" }] });

  async function deploy(host: string, module: string) {
    const dir = await writeHive({ [host]: module });
    return runHive(fleet(), dir, ["apply", "--on", host]);
  }

  it("the runner alone, under env -i, sets the profile, switches, and reports status and log", async () => {
    const first = await deploy("e1", 'environment.etc.v.text = "1";');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const before = systemOf(first.stdout, "e1");
    // A second system on the host, pushed but not activated.
    const dir = await writeHive({ e1: 'environment.etc.v.text = "2";' });
    const pushed = await runHive(fleet(), dir, ["apply", "push", "--on", "e1"]);
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);
    const next = systemOf(pushed.stdout, "e1");
    const host = fleet().host("e1");
    const generation = (await host.run(["readlink", "/nix/var/nix/profiles/system"])).stdout.trim();
    const base = "/nix/var/hive/env-test";
    const nixEnv = (await host.run(["sh", "-c", "command -v nix-env"])).stdout.trim();
    const run = await host.run([
      "env",
      "-i",
      "/bin/sh",
      "-c",
      ACTIVATION_RUNNER,
      "hive-activate",
      "activate",
      base,
      next ?? "",
      "switch",
      "1",
      /^system-(\d+)-link$/.exec(generation)?.[1] ?? "-",
      before ?? "-",
      nixEnv,
      "0", // no confirmation window
      "-",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const status = await host.run(["cat", `${base}.status`]);
    expect(status.stdout).toBe("hive-activation rc=0 rollback=none stopped=0 unconfirmed=0 watch=none end\n");
    expect((await host.run(["test", "-f", `${base}.log`])).code).toBe(0);
    const switched = await host.run(["tail", "-n", "1", "/nix/var/log/hive-testbed/switch-to-configuration.log"]);
    expect(switched.stdout).toMatch(new RegExp(` switch ${next ?? "?"}$`, "m"));
    expect(await host.currentSystem()).toBe(next);
    expect(await host.profileSystem()).toBe(next);
  });

  it("deploys through the systemd-run branch (as every NixOS host does), with nixos-rebuild's environment", async () => {
    const host = fleet().host("e2");
    // The host runs "systemd": /run/systemd/system exists and systemd-run is on root's PATH.
    await mkdir(join(host.paths.run, "systemd", "system"), { recursive: true });
    await mkdir(join(host.paths.run, "testbed-bin"), { recursive: true });
    const fake = join(host.paths.run, "testbed-bin", "systemd-run");
    await writeFile(fake, FAKE_SYSTEMD_RUN);
    await chmod(fake, 0o755);
    const bashrc = join(host.paths.dir, "home", "root", ".bashrc");
    await writeFile(bashrc, "PATH=/run/testbed-bin:$PATH\n");
    try {
      const good = await deploy("e2", 'environment.etc.v.text = "sd-1";');
      expect(good.code, good.stdout + good.stderr).toBe(0);
      const before = systemOf(good.stdout, "e2");
      const args = (await readFile(join(host.paths.run, "systemd-run.args"), "utf8")).split("\n");
      expect(args).toContain("--setenv=NIXOS_INSTALL_BOOTLOADER=");
      expect(args.some((a) => /^hive-activate-[0-9a-f-]{36}$/.test(a))).toBe(true);
      expect(await host.currentSystem()).toBe(before);
      // A failing activation through the same branch is restored by the runner there.
      const bad = await deploy("e2", 'system.activationScripts.broken = "exit 5";');
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^e2: failed at activate: .*exited with 5; rolled back/m);
      await expectInvariants(fleet(), bad, { e2: { before, wanted: undefined } });
    } finally {
      await rm(bashrc, { force: true });
      await rm(join(host.paths.run, "systemd"), { recursive: true, force: true });
    }
  });
});
