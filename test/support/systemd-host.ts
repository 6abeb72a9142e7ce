import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { SystemdHost } from "@hive/testbed";
import { ok, run } from "./run.js";
import { runHiveWith, writeHive } from "../faults/fault-kit.js";

/**
 * A testbed host run by a real systemd (systemd-nspawn), started before the file's tests and
 * stopped after them, with an ssh_config that reaches it as `name` and a way to apply modules.
 */
export function useSystemdHost(name: string) {
  let host: SystemdHost | undefined;
  let sshConfig = "";
  let clientKey = "";
  beforeAll(async () => {
    const dir = await mkdtemp(join(inject("fleetRoot"), "systemd-"));
    const key = join(dir, "client_key");
    await ok("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key]);
    clientKey = (await readFile(`${key}.pub`, "utf8")).trim();
    host = await SystemdHost.start(join(dir, name), name, clientKey);
    const knownHosts = join(dir, "known_hosts");
    await writeFile(knownHosts, `${host.knownHostsLine()}\n`);
    sshConfig = join(dir, "ssh_config");
    await writeFile(
      sshConfig,
      [
        `Host ${name}`,
        "  HostName 127.0.0.1",
        `  Port ${host.port}`,
        "  User root",
        `  IdentityFile ${key}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${knownHosts}`,
        "  StrictHostKeyChecking yes",
        "",
      ].join("\n"),
    );
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
  });
  return {
    host: () => {
      if (host === undefined) throw new Error("the systemd host is not up (beforeAll failed?)");
      return host;
    },
    /** The deployer's public key, which the host authorizes for root. */
    clientKey: () => clientKey,
    onHost: (command: string) => run("ssh", ["-F", sshConfig, "-o", "BatchMode=yes", name, command]),
    apply: async (module: string, args: readonly string[] = []) =>
      runHiveWith(await writeHive({ [name]: module }), ["apply", "--on", name, ...args], {
        SSH_CONFIG_FILE: sshConfig,
        SSH_AUTH_SOCK: "",
        NIX_CONFIG: "substituters =",
        NIX_PATH: "",
      }),
  };
}
