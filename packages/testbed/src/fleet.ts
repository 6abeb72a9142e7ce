import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestbedHost, type HostSpec, type HostStartOptions, type HostState } from "./host.js";
import { LinkProxy, Uplink, type LinkOptions } from "./link-proxy.js";
import { killProcesses, processesOfHostsUnder } from "./namespaces.js";
import { runChecked } from "./run.js";

export interface TestbedOptions {
  /** How many hosts (named h1, h2, ...) or their specs. */
  hosts: number | readonly HostSpec[];
  /** Where the fleet lives; by default a new directory under the system's temp dir. */
  dir?: string;
  /** Keep hosts running after this process exits (the testbed CLI). */
  detached?: boolean;
}

interface FleetState {
  version: 1;
  dir: string;
  hosts: HostState[];
}

const STATE_FILE = "testbed.json";

/** Directories of fleets made without an explicit dir live here, so a sweep can find them. */
export const DEFAULT_FLEET_ROOT = join(tmpdir(), "hive-testbed");

/**
 * A fleet of testbed hosts with what a user's machine would have to reach them: an ssh_config
 * with one alias per host, a known_hosts file and a client key.
 */
export class Testbed {
  readonly dir: string;
  readonly hosts: readonly TestbedHost[];
  private readonly proxies = new Map<string, LinkProxy>();
  private rebootWatcher: NodeJS.Timeout | undefined;
  private readonly rebooting = new Set<string>();

  private constructor(dir: string, hosts: readonly TestbedHost[]) {
    this.dir = dir;
    this.hosts = hosts;
  }

  get sshConfigPath(): string {
    return join(this.dir, "ssh_config");
  }
  get knownHostsPath(): string {
    return join(this.dir, "known_hosts");
  }
  get clientKeyPath(): string {
    return join(this.dir, "client", "id_ed25519");
  }
  clientPublicKey(): Promise<string> {
    return readFile(`${this.clientKeyPath}.pub`, "utf8").then((k) => k.trim());
  }

  /** Brings a fleet up and waits until every host answers. On any failure nothing is left running. */
  static async start(options: TestbedOptions): Promise<Testbed> {
    const specs: HostSpec[] =
      typeof options.hosts === "number"
        ? Array.from({ length: options.hosts }, (_, i) => ({ name: `h${i + 1}` }))
        : [...options.hosts];
    for (const spec of specs) {
      if (!/^[a-z][a-z0-9-]{0,30}$/.test(spec.name))
        throw new Error(`testbed host name ${JSON.stringify(spec.name)} must match [a-z][a-z0-9-]*`);
    }
    await mkdir(DEFAULT_FLEET_ROOT, { recursive: true });
    const dir = options.dir ?? (await mkdtemp(join(DEFAULT_FLEET_ROOT, "fleet-")));
    if (existsSync(join(dir, STATE_FILE)))
      throw new Error(`${dir} already holds a testbed; run 'hive-testbed down --dir ${dir}' first`);
    await mkdir(join(dir, "client"), { recursive: true });
    const created: TestbedHost[] = [];
    try {
      await runChecked("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "hive-testbed-client",
        "-f",
        join(dir, "client", "id_ed25519"),
      ]);
      const clientKey = (await readFile(join(dir, "client", "id_ed25519.pub"), "utf8")).trim();
      for (const spec of specs) created.push(await TestbedHost.create(join(dir, "hosts", spec.name), spec, clientKey));
      const startOptions: HostStartOptions = options.detached ? { detached: true } : {};
      await Promise.all(created.map((h) => h.startSshd(startOptions)));
      const fleet = new Testbed(dir, created);
      await fleet.writeClientFiles();
      if (!options.detached) fleet.serveReboots();
      return fleet;
    } catch (error) {
      await Promise.allSettled(created.map((h) => h.destroy()));
      await killProcesses(() => processesOfHostsUnder(dir));
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Reattaches to a fleet started earlier (by the CLI) from its directory. */
  static async attach(dir: string): Promise<Testbed> {
    const state = JSON.parse(await readFile(join(dir, STATE_FILE), "utf8")) as Partial<FleetState>;
    if (state.version !== 1 || !Array.isArray(state.hosts))
      throw new Error(`${dir}: not a testbed state file this version understands`);
    return new Testbed(
      dir,
      state.hosts.map((h) => TestbedHost.fromState(h)),
    );
  }

  /**
   * Serves `reboot` run on a host (the mini nixpkgs' reboot leaves a request in the host's /run):
   * while this process runs, such a host really reboots.
   */
  private serveReboots(): void {
    this.rebootWatcher = setInterval(() => {
      for (const host of this.hosts) {
        const request = join(host.paths.run, "hive-testbed-reboot-request");
        if (this.rebooting.has(host.name) || !existsSync(request)) continue;
        this.rebooting.add(host.name);
        void this.reboot(host.name)
          .catch((error: unknown) => process.emitWarning(`testbed: rebooting ${host.name} failed: ${String(error)}`))
          .finally(() => this.rebooting.delete(host.name));
      }
    }, 100);
    this.rebootWatcher.unref();
  }

  host(name: string): TestbedHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no testbed host named ${name} (hosts: ${this.hosts.map((h) => h.name).join(", ")})`);
    return host;
  }

  /** ssh(1) arguments that reach a host through the fleet's ssh_config: `ssh ...args cmd`. */
  sshArgs(alias: string): string[] {
    return ["-F", this.sshConfigPath, "-o", "BatchMode=yes", alias];
  }

  /**
   * Puts a link with latency, a bandwidth cap and a cut switch in front of a host's sshd. The
   * host is then also reachable as the alias `<name>-link`.
   */
  async link(name: string, options: LinkOptions = {}): Promise<LinkProxy> {
    const host = this.host(name);
    const existing = this.proxies.get(name);
    if (existing) return existing;
    const proxy = await LinkProxy.start({ targetPort: host.port, ...options });
    this.proxies.set(name, proxy);
    await this.writeClientFiles();
    return proxy;
  }

  /**
   * Puts every host behind one shared link (a deployer's uplink: one bandwidth budget and latency
   * for all of them, reached as `<name>-link`), while hosts still reach each other directly.
   */
  async uplink(options: Omit<LinkOptions, "uplink">): Promise<Uplink> {
    const uplink = new Uplink();
    for (const host of this.hosts) {
      if (this.proxies.has(host.name)) throw new Error(`host ${host.name} has a link already`);
      this.proxies.set(host.name, await LinkProxy.start({ targetPort: host.port, ...options, uplink }));
    }
    await this.writeClientFiles();
    return uplink;
  }

  /** Rewrites ssh_config and known_hosts (after a host moved to another port, or a link was added). */
  async writeClientFiles(): Promise<void> {
    const alias = (name: string, port: number) =>
      [
        `Host ${name}`,
        "  HostName 127.0.0.1",
        `  Port ${port}`,
        "  User root",
        `  IdentityFile ${this.clientKeyPath}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${this.knownHostsPath}`,
        "  StrictHostKeyChecking yes",
        "",
      ].join("\n");
    const entries: string[] = [];
    const known: string[] = [];
    for (const host of this.hosts) {
      entries.push(alias(host.name, host.port));
      known.push(host.knownHostsLine());
      const proxy = this.proxies.get(host.name);
      if (proxy) {
        entries.push(alias(`${host.name}-link`, proxy.port));
        known.push(host.knownHostsLine(proxy.port));
      }
    }
    await writeFile(
      this.sshConfigPath,
      `# Written by hive-testbed for the fleet in ${this.dir}\n\n${entries.join("\n")}`,
    );
    await writeFile(this.knownHostsPath, `${known.join("\n")}\n`);
    const state: FleetState = { version: 1, dir: this.dir, hosts: this.hosts.map((h) => h.toState()) };
    await writeFile(join(this.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Starts a host's sshd again; if it had to move ports, the client files follow. */
  async startSshd(name: string, options: HostStartOptions = {}): Promise<void> {
    const host = this.host(name);
    const before = host.port;
    await host.startSshd(options);
    if (host.port !== before) await this.writeClientFiles();
  }

  async reboot(name: string, options: HostStartOptions = {}): Promise<void> {
    const host = this.host(name);
    const before = host.port;
    await host.reboot(options);
    if (host.port !== before) await this.writeClientFiles();
  }

  /** Tears the whole fleet down: every host process, link and mount; the directory too unless kept. */
  async stop({ keepDir = false }: { keepDir?: boolean } = {}): Promise<void> {
    if (this.rebootWatcher) clearInterval(this.rebootWatcher);
    await Promise.allSettled([...this.proxies.values()].map((p) => p.close()));
    const results = await Promise.allSettled(this.hosts.map((h) => h.destroy()));
    await killProcesses(() => processesOfHostsUnder(this.dir));
    if (!keepDir) await rm(this.dir, { recursive: true, force: true });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}
