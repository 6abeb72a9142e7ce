import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { readFile, readlink, rm, readdir, writeFile, mkdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { hostInitPath } from "./assets.js";
import { hostPaths, layOutHost, sshdConfig, writeBootId, type HostPaths } from "./host-layout.js";
import { killAtOnce, killProcesses, processesOfHostsUnder } from "./namespaces.js";
import { pickPort, waitForSshBanner } from "./ports.js";
import { runChecked, runProgram, type RunResult } from "./run.js";

export interface HostSpec {
  name: string;
  /** Size limit of the host's /nix in bytes (a tmpfs), to make its disk fill up. */
  storeBytes?: number;
  /** Extra lines for the host's /etc/nix/nix.conf (e.g. `extra-platforms = aarch64-linux`). */
  nixConfig?: string;
}

export interface HostState {
  name: string;
  dir: string;
  port: number;
  hostKey: string;
  storeBytes?: number;
}

export interface HostStartOptions {
  /** Keep the host running after this process exits (the testbed CLI); tests leave it off. */
  detached?: boolean;
  timeoutMs?: number;
}

/**
 * One host of the fleet: a mount namespace with its own /nix, /run and /etc/ssh, running a real
 * sshd on 127.0.0.1. Every fault it offers has a real effect on the host.
 */
export class TestbedHost {
  readonly name: string;
  readonly paths: HostPaths;
  readonly hostKey: string;
  readonly storeBytes: number | undefined;
  port: number;

  private constructor(state: HostState) {
    this.name = state.name;
    this.paths = hostPaths(state.dir);
    this.hostKey = state.hostKey;
    this.port = state.port;
    this.storeBytes = state.storeBytes;
  }

  static async create(dir: string, spec: HostSpec, clientPublicKey: string): Promise<TestbedHost> {
    const paths = hostPaths(dir);
    if (spec.storeBytes !== undefined) {
      await mkdir(paths.nix, { recursive: true });
      await runChecked("mount", ["-t", "tmpfs", "-o", `size=${spec.storeBytes},mode=0755`, "tmpfs", paths.nix]);
    }
    const layout =
      spec.nixConfig === undefined ? { clientPublicKey } : { clientPublicKey, extraNixConfig: spec.nixConfig };
    const hostKey = await layOutHost(paths, layout);
    const state: HostState = { name: spec.name, dir, port: 0, hostKey };
    if (spec.storeBytes !== undefined) state.storeBytes = spec.storeBytes;
    return new TestbedHost(state);
  }

  static fromState(state: HostState): TestbedHost {
    return new TestbedHost(state);
  }

  toState(): HostState {
    const state: HostState = { name: this.name, dir: this.paths.dir, port: this.port, hostKey: this.hostKey };
    if (this.storeBytes !== undefined) state.storeBytes = this.storeBytes;
    return state;
  }

  /** The known_hosts line for this host's sshd, as OpenSSH looks it up. */
  knownHostsLine(port = this.port): string {
    return `[127.0.0.1]:${port} ${this.hostKey}`;
  }

  /** Starts sshd in a new namespace; on a port clash it moves to another port. */
  async startSshd(options: HostStartOptions = {}): Promise<void> {
    await this.launch("sshd", options);
  }

  private async launch(mode: "sshd" | "boot", options: HostStartOptions): Promise<void> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.port === 0 || attempt > 0) this.port = await pickPort();
      await writeFile(join(this.paths.etcSsh, "sshd_config"), sshdConfig(this.port));
      try {
        await this.spawnInit(mode, options);
        return;
      } catch (error) {
        lastError = error as Error;
        if (!/Address already in use|Bind to port/.test(lastError.message)) throw lastError;
      }
    }
    throw lastError ?? new Error(`host ${this.name}: sshd did not start`);
  }

  private async spawnInit(mode: "sshd" | "boot", options: HostStartOptions): Promise<void> {
    const log = openSync(this.paths.log, "a");
    const unshare = ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child", "--"];
    const init = ["/bin/sh", hostInitPath, this.paths.dir, mode];
    // Attached hosts die with this process (setpriv's parent-death signal, then unshare's
    // --kill-child), so a crashed test run leaves no sshd behind.
    const argv = options.detached
      ? [...unshare, ...init]
      : ["setpriv", "--pdeathsig", "KILL", "--", ...unshare, ...init];
    const child = spawn(argv[0] ?? "unshare", argv.slice(1), {
      stdio: ["ignore", log, log],
      detached: options.detached ?? false,
    });
    closeSync(log);
    let exited: string | undefined;
    child.on("exit", (code, signal) => {
      exited = `exited with ${signal ?? code}`;
    });
    child.on("error", (error) => {
      exited = error.message;
    });
    if (options.detached) child.unref();
    const ready = await waitForSshBanner(this.port, {
      timeoutMs: options.timeoutMs ?? 15_000,
      abandon: () => exited !== undefined,
    });
    // The port may have been taken by another host between pickPort and sshd's bind: only our
    // sshd's pid file, written after it listens, proves the greeting was ours.
    const ours = ready && (await this.waitForOwnSshd(() => exited !== undefined));
    if (!ours) {
      await killProcesses(() => processesOfHostsUnder(this.paths.dir));
      const logTail = (await readFile(this.paths.log, "utf8")).split("\n").slice(-8).join("\n");
      throw new Error(
        `host ${this.name}: sshd on port ${this.port} did not answer (${exited ?? "timed out"}):\n${logTail}`,
      );
    }
  }

  private async waitForOwnSshd(abandon: () => boolean): Promise<boolean> {
    for (let i = 0; i < 200 && !abandon(); i++) {
      const pid = await this.sshdPid();
      if (pid !== undefined && (await this.processes()).includes(pid)) return true;
      await sleep(10);
    }
    return false;
  }

  /** The pid of the listening sshd, if it runs. */
  async sshdPid(): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(join(this.paths.run, "sshd.pid"), "utf8")).trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** Stops the listening sshd; sessions already open go on, as with a real sshd. */
  async stopSshd(): Promise<void> {
    const pid = await this.sshdPid();
    if (pid === undefined) return;
    await killProcesses(async () => ((await this.sshdPid()) === pid ? [pid] : []));
    await rm(join(this.paths.run, "sshd.pid"), { force: true });
  }

  /** Every process of this host: sshd, sessions and anything they left running. */
  processes(): Promise<number[]> {
    return processesOfHostsUnder(this.paths.dir);
  }

  /** Kills every process of the host at once, with no warning, as a power cut does. */
  async cutPower(): Promise<void> {
    await killAtOnce(() => this.processes());
  }

  /** Stops every process of the host, as a shutdown does: SIGTERM, then SIGKILL. */
  async powerOff(): Promise<void> {
    await killProcesses(() => this.processes(), { graceMs: 500 });
  }

  /**
   * Reboots: every process dies, /run is emptied, the boot id changes, and the host boots into
   * the system profile (/run/current-system from /nix/var/nix/profiles/system, its activation run).
   */
  async reboot(options: HostStartOptions = {}): Promise<void> {
    await this.powerOff();
    for (const entry of await readdir(this.paths.run)) {
      await rm(join(this.paths.run, entry), { recursive: true, force: true });
    }
    await writeBootId(this.paths);
    await this.launch("boot", options);
  }

  async bootId(): Promise<string> {
    return (await readFile(this.paths.bootId, "utf8")).trim();
  }

  /** Follows a path's symlinks as the host sees them (its /nix and /run are private). */
  async resolve(path: string): Promise<string | undefined> {
    let current = path;
    for (let hops = 0; hops < 40; hops++) {
      const local = this.localPath(current);
      let target: string;
      try {
        target = await readlink(local);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EINVAL") return current;
        return undefined;
      }
      current = posix.resolve(posix.dirname(current), target);
    }
    throw new Error(`host ${this.name}: too many symlinks at ${path}`);
  }

  private localPath(hostPath: string): string {
    for (const [prefix, local] of [
      ["/nix", this.paths.nix],
      ["/run", this.paths.run],
      ["/etc/ssh", this.paths.etcSsh],
    ] as const) {
      if (hostPath === prefix || hostPath.startsWith(`${prefix}/`)) return local + hostPath.slice(prefix.length);
    }
    return hostPath;
  }

  /** The system /run/current-system points at, if any. */
  currentSystem(): Promise<string | undefined> {
    return this.resolve("/run/current-system");
  }

  /** The system the profile /nix/var/nix/profiles/system points at, if any. */
  profileSystem(): Promise<string | undefined> {
    return this.resolve("/nix/var/nix/profiles/system");
  }

  /** Whether the host's own store holds a path. */
  hasStorePath(storePath: string): boolean {
    return existsSync(this.localPath(storePath));
  }

  async authorizedKeys(user = "root"): Promise<string> {
    try {
      return await readFile(join(this.paths.authorizedKeys, user), "utf8");
    } catch {
      return "";
    }
  }

  /** Replaces a user's authorized keys (an empty list revokes every key). */
  async setAuthorizedKeys(keys: readonly string[], user = "root"): Promise<void> {
    await writeFile(join(this.paths.authorizedKeys, user), keys.map((k) => `${k.trim()}\n`).join(""));
  }

  /** Runs a command inside the host's namespace, without ssh (for inspection by tests). */
  run(argv: readonly string[], options: { input?: string } = {}): Promise<RunResult> {
    return runProgram(
      "unshare",
      ["--mount", "--propagation", "private", "--fork", "--", "/bin/sh", hostInitPath, this.paths.dir, "exec", ...argv],
      options,
    );
  }

  /** Stops everything and releases the host's mounts. The directory itself is left to the fleet. */
  async destroy(): Promise<void> {
    await this.powerOff();
    if (this.storeBytes !== undefined) await runProgram("umount", ["-l", this.paths.nix]);
  }
}
