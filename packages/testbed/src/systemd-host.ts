import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostPaths, layOutHost, sshdConfig, type HostPaths } from "./host-layout.js";
import { killProcesses, processesOfHostsUnder } from "./namespaces.js";
import { pickPort, waitForSshBanner } from "./ports.js";

// sshd as the host's own systemd unit; the manager gives units a PATH that holds nothing, as
// NixOS gives them only systemd's own bin directory.
const SSHD_UNIT = `[Unit]
Description=sshd of a hive testbed host

[Service]
ExecStartPre=/usr/bin/mkdir -p /run/sshd
ExecStart=/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config

[Install]
WantedBy=multi-user.target
`;
// NixOS's stage 2, as a unit before all others: the system profile is what boots, and its activation
// runs (absolute paths: units get no PATH). At first boot there is no profile yet.
const STAGE2_UNIT = `[Unit]
Description=boot the system profile (NixOS's stage 2) on a hive testbed host
DefaultDependencies=no
Before=sysinit.target hive-sshd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'p=/nix/var/nix/profiles/system; [ -e $p ] || exit 0; s=$(/usr/bin/readlink -f $p); /usr/bin/ln -sfn $s /run/booted-system; /usr/bin/ln -sfn $s /run/current-system; [ -x $s/activate ] && $s/activate || true'

[Install]
WantedBy=sysinit.target
`;
const MANAGER_CONF = `[Manager]
DefaultEnvironment=PATH=/nonexistent/systemd/bin
`;

/**
 * A testbed host whose PID 1 is a real systemd (systemd-nspawn --boot), so that activation takes
 * the systemd-run branch every NixOS host takes. It boots its own root, never this machine's: a
 * directory of its own with /usr bound read-only, an /etc copied and stripped of this machine's
 * units, mounts and machine id, and private /tmp, /var and /run; /nix and /etc/ssh are the
 * host's, as on every testbed host. It shares this machine's network: its sshd listens on
 * 127.0.0.1 at a port of its own.
 */
export class SystemdHost {
  readonly paths: HostPaths;
  port = 0;
  hostKey = "";
  private nspawn: ChildProcess | undefined;
  /** How many times the host rebooted (its `reboot`). */
  reboots = 0;

  private constructor(
    readonly name: string,
    dir: string,
  ) {
    this.paths = hostPaths(dir);
  }

  static async start(dir: string, name: string, clientPublicKey: string): Promise<SystemdHost> {
    const host = new SystemdHost(name, dir);
    host.hostKey = await layOutHost(host.paths, { clientPublicKey });
    await host.layOutRoot();
    host.port = await pickPort();
    await writeFile(join(host.paths.etcSsh, "sshd_config"), sshdConfig(host.port));
    await host.boot();
    return host;
  }

  get root(): string {
    return join(this.paths.dir, "root");
  }

  knownHostsLine(): string {
    return `[127.0.0.1]:${this.port} ${this.hostKey}`;
  }

  private async layOutRoot(): Promise<void> {
    const root = this.root;
    for (const d of ["usr", "nix", "var", "tmp", "root", "proc", "sys", "dev", "run"])
      await mkdir(join(root, d), { recursive: true });
    for (const link of ["bin", "sbin", "lib", "lib64"]) await symlink(`usr/${link}`, join(root, link));
    const etc = join(root, "etc");
    await cp("/etc", etc, { recursive: true, verbatimSymlinks: true });
    // Nothing of this machine's own configuration boots: its units, mounts and identity.
    for (const stale of ["systemd/system", "ssh", "nix", "machine-id", "fstab", "hostname"])
      await rm(join(etc, stale), { recursive: true, force: true });
    await mkdir(join(etc, "ssh"));
    await mkdir(join(etc, "nix"));
    await writeFile(join(etc, "machine-id"), "");
    await writeFile(join(etc, "fstab"), "");
    await writeFile(join(etc, "hostname"), `${this.name}\n`);
    // nspawn looks for it before /usr is bound: a copy, not the link to /usr/lib.
    await rm(join(etc, "os-release"), { force: true });
    await copyFile("/usr/lib/os-release", join(etc, "os-release"));
    const units = join(etc, "systemd", "system");
    await mkdir(join(units, "multi-user.target.wants"), { recursive: true });
    await writeFile(join(units, "hive-sshd.service"), SSHD_UNIT);
    await symlink("../hive-sshd.service", join(units, "multi-user.target.wants", "hive-sshd.service"));
    await writeFile(join(units, "hive-stage2.service"), STAGE2_UNIT);
    // Before every ordinary unit, as NixOS's stage 2 runs before systemd starts.
    await mkdir(join(units, "sysinit.target.wants"), { recursive: true });
    await symlink("../hive-stage2.service", join(units, "sysinit.target.wants", "hive-stage2.service"));
    await symlink("/usr/lib/systemd/system/multi-user.target", join(units, "default.target"));
    for (const masked of ["nix-daemon.service", "nix-daemon.socket", "ssh.service", "ssh.socket"])
      await symlink("/dev/null", join(units, masked));
    await mkdir(join(etc, "systemd", "system.conf.d"), { recursive: true });
    await writeFile(join(etc, "systemd", "system.conf.d", "hive-testbed.conf"), MANAGER_CONF);
    // The host's users, with root at home in the host's own /root.
    for (const file of ["passwd", "group", "shadow", "sudoers"]) {
      const text = await readFile(join(this.paths.etc, file), "utf8");
      await writeFile(join(etc, file), text.replace(/^root:x:0:0:root:[^:]*:/m, "root:x:0:0:root:/root:"));
    }
  }

  private async boot(): Promise<void> {
    // nspawn keeps its own state under /run: a tmpfs of its own, in a mount namespace of its own.
    const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/nspawn && exec systemd-nspawn "$@"';
    const nspawn = [
      "-D",
      this.root,
      "--bind-ro=/usr",
      `--bind=${this.paths.nix}:/nix`,
      `--bind=${this.paths.etcSsh}:/etc/ssh`,
      `--bind=${this.paths.etcNix}:/etc/nix`,
      `--machine=hive-${this.name}-${process.pid}`,
      "--register=no",
      "--keep-unit",
      "--console=pipe",
      "--boot",
    ];
    const child = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        ...nspawn,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.nspawn = child;
    let log = "";
    let exited: string | undefined;
    child.stderr.on("data", (c: Buffer) => (log += c.toString()));
    child.on("exit", (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      // `reboot` in the container: systemd shuts down and nspawn exits 133; the machine boots
      // again (a new /run, a new boot id, the system profile), as hardware would.
      if (code === 133 && this.nspawn === child) {
        this.reboots++;
        void this.boot().catch((error: unknown) =>
          process.emitWarning(`testbed: systemd host ${this.name} did not boot again: ${String(error)}`),
        );
      }
    });
    const ready = await waitForSshBanner(this.port, { timeoutMs: 60_000, abandon: () => exited !== undefined });
    if (!ready) {
      await this.stop();
      throw new Error(
        `systemd host ${this.name}: sshd did not answer on ${this.port} (${exited ?? "timed out"}):\n${log}`,
      );
    }
  }

  /** Replaces a user's authorized keys (as a console session would, when SSH no longer lets one in). */
  async setAuthorizedKeys(keys: readonly string[], user = "root"): Promise<void> {
    await writeFile(join(this.paths.authorizedKeys, user), keys.map((k) => `${k.trim()}\n`).join(""));
  }

  /** Halts the container (systemd shuts down), then sweeps whatever is left. */
  async stop(): Promise<void> {
    const child = this.nspawn;
    this.nspawn = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await killProcesses(() => processesOfHostsUnder(this.paths.dir));
  }
}
