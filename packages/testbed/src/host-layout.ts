import { randomUUID } from "node:crypto";
import { chmod, chown, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hostMarkerPath } from "./namespaces.js";
import { runChecked } from "./run.js";
import { testNixConfig } from "./assets.js";

/** Login users other than root that every host has, for privilege escalation tests. */
export const SUDO_USER = { name: "deploy", uid: 2001 } as const;
export const SUDO_PASSWORD_USER = { name: "deploy-pw", uid: 2002, password: "hive-testbed-sudo" } as const;

export interface HostPaths {
  dir: string;
  nix: string;
  run: string;
  etcSsh: string;
  etcNix: string;
  etc: string;
  bootId: string;
  log: string;
  authorizedKeys: string;
}

export function hostPaths(dir: string): HostPaths {
  return {
    dir,
    nix: join(dir, "nix"),
    run: join(dir, "run"),
    etcSsh: join(dir, "etc-ssh"),
    etcNix: join(dir, "etc-nix"),
    etc: join(dir, "etc"),
    bootId: join(dir, "boot_id"),
    log: join(dir, "sshd.log"),
    authorizedKeys: join(dir, "etc-ssh", "authorized_keys.d"),
  };
}

export function sshdConfig(port: number): string {
  return `# Written by hive-testbed. Tests add settings in sshd_config.d (read first: first value wins).
Include /etc/ssh/sshd_config.d/*.conf
Port ${port}
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile %h/.ssh/authorized_keys /etc/ssh/authorized_keys.d/%u
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxSessions 200
ClientAliveInterval 30
Subsystem sftp internal-sftp
`;
}

/** A fresh boot id, written where the host's namespace binds /proc/sys/kernel/random/boot_id. */
export async function writeBootId(paths: HostPaths): Promise<string> {
  const id = randomUUID();
  await writeFile(paths.bootId, `${id}\n`);
  return id;
}

async function userDatabase(paths: HostPaths): Promise<void> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const group = await readFile("/etc/group", "utf8");
  const shadow = await readFile("/etc/shadow", "utf8");
  const hash = (await runChecked("openssl", ["passwd", "-6", "-stdin"], { input: SUDO_PASSWORD_USER.password })).trim();
  const users = [SUDO_USER, SUDO_PASSWORD_USER];
  const withoutUsers = (text: string) =>
    text
      .split("\n")
      .filter((l) => l !== "" && !users.some((u) => l.startsWith(`${u.name}:`)))
      .join("\n");
  // sshd refuses locked accounts when PAM is off: root logs in by key, so mark it "no password".
  const rootUnlocked = withoutUsers(shadow).replace(/^root:![^:]*:/m, "root:*:");
  const home = (name: string) => join(paths.dir, "home", name);
  // root gets a home of its own: the machine's /root (its shell rc files, caches) is not the host's.
  const rootLine = `root:x:0:0:root:${home("root")}:/bin/bash`;
  await mkdir(home("root"), { recursive: true, mode: 0o700 });
  await writeFile(
    join(paths.etc, "passwd"),
    `${withoutUsers(passwd).replace(/^root:.*$/m, rootLine)}\n${users.map((u) => `${u.name}:x:${u.uid}:${u.uid}:hive testbed:${home(u.name)}:/bin/sh`).join("\n")}\n`,
  );
  await writeFile(
    join(paths.etc, "group"),
    `${withoutUsers(group)}\n${users.map((u) => `${u.name}:x:${u.uid}:`).join("\n")}\n`,
  );
  await writeFile(
    join(paths.etc, "shadow"),
    `${rootUnlocked}\n${SUDO_USER.name}:*:19000:0:99999:7:::\n${SUDO_PASSWORD_USER.name}:${hash}:19000:0:99999:7:::\n`,
    { mode: 0o640 },
  );
  await writeFile(
    join(paths.etc, "sudoers"),
    [
      "Defaults env_reset",
      'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
      "Defaults !lecture",
      "root ALL=(ALL:ALL) ALL",
      `${SUDO_USER.name} ALL=(ALL:ALL) NOPASSWD: ALL`,
      `${SUDO_PASSWORD_USER.name} ALL=(ALL:ALL) ALL`,
      "",
    ].join("\n"),
    { mode: 0o440 },
  );
  await chmod(join(paths.etc, "sudoers"), 0o440);
  for (const u of users) {
    await mkdir(home(u.name), { recursive: true });
    await chown(home(u.name), u.uid, u.uid);
  }
}

/**
 * Lays out a host's private world: an empty /nix, /run, its own /etc/ssh (host key, sshd_config,
 * authorized keys), /etc/nix and user database. Returns the host's public key line.
 */
export async function layOutHost(
  paths: HostPaths,
  options: { clientPublicKey: string; extraNixConfig?: string },
): Promise<string> {
  for (const d of [paths.nix, paths.run, paths.etcSsh, paths.etcNix, paths.etc, paths.authorizedKeys]) {
    await mkdir(d, { recursive: true });
  }
  await mkdir(join(paths.nix, "store"), { recursive: true });
  await mkdir(join(paths.nix, "var", "nix", "profiles"), { recursive: true });
  const hostKey = join(paths.etcSsh, "ssh_host_ed25519_key");
  await runChecked("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKey]);
  if (existsSync("/etc/ssh/moduli")) await copyFile("/etc/ssh/moduli", join(paths.etcSsh, "moduli"));
  await writeFile(join(paths.etcSsh, hostMarkerPath.split("/").pop() ?? "marker"), `${paths.dir}\n`);
  for (const user of ["root", SUDO_USER.name, SUDO_PASSWORD_USER.name]) {
    await writeFile(join(paths.authorizedKeys, user), `${options.clientPublicKey.trim()}\n`);
  }
  const machineNix = existsSync("/etc/nix/nix.conf") ? await readFile("/etc/nix/nix.conf", "utf8") : "";
  await writeFile(
    join(paths.etcNix, "nix.conf"),
    // Hosts share this machine's process and user ids: a host's Nix building as the machine's
    // nixbld users would kill this machine's builds (Nix kills a build user's processes before it
    // uses it). Hosts build as root instead.
    `${machineNix}\n# hive-testbed\n${testNixConfig}\nbuild-users-group =\n${options.extraNixConfig ?? ""}\n`,
  );
  await userDatabase(paths);
  await writeBootId(paths);
  return (await readFile(`${hostKey}.pub`, "utf8")).trim();
}
