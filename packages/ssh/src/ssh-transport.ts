import { homedir } from "node:os";
import { Readable } from "node:stream";
import type { ClientChannel } from "ssh2";
import { feedInput, HiveError, type ExecOptions, type ExecResult } from "@hive/core";
import { EscalatingTransport } from "./escalating-transport.js";
import { preloadSsh2, SshConnection } from "./ssh-connection.js";
import {
  defaultConfigSources,
  resolveSshTarget,
  type ConfigSources,
  type ResolvedHost,
  type SshTarget,
} from "./ssh-config.js";
import { shellQuote } from "./shell-quote.js";
import { certAuthorityFor, knownHostsName } from "./known-hosts.js";
import { OpenSshTransport } from "./openssh-transport.js";
import { configFileArgs } from "./openssh-settings.js";

/** How long a connection opened ahead (prepare) may sit unused before its first command. */
const PREPARED_STALE_MS = 30_000;

/**
 * A host reached over SSH: one connection, opened on first use and reused by every command
 * (channels run side by side), opened again if it drops.
 */
export class SshTransport extends EscalatingTransport {
  private connection: Promise<SshConnection> | undefined;
  /** Connections left by a reconnect, still finishing what ran on them (ended at close). */
  private readonly retired = new Set<SshConnection>();

  get sshAddress(): { user: string; hostName: string; port: number } | undefined {
    const { user, hostName, port, proxyJump } = this.host;
    return proxyJump.length > 0 ? undefined : { user, hostName, port };
  }

  /** Gives up the connection being opened (close). */
  private stopOpening: AbortController | undefined;
  /** When prepare() opened the connection no command has used yet. */
  private preparedAt: number | undefined;

  prepare(): void {
    if (this.connection !== undefined) return;
    this.preparedAt = Date.now();
    this.connect().catch(() => undefined);
  }

  private connect(): Promise<SshConnection> {
    if (this.connection === undefined) {
      this.connectionsOpened++;
      const stop = new AbortController();
      this.stopOpening = stop;
      const opening = SshConnection.open(this.host, { agent: this.options.agent, signal: stop.signal });
      this.connection = opening;
      opening.then(
        (c) =>
          c.onClose(() => {
            if (this.connection === opening) this.connection = undefined;
          }),
        () => {
          if (this.connection === opening) this.connection = undefined;
        },
      );
    }
    return this.connection;
  }

  /** Runs `full` as it is over the connection; `name` is the command for messages (not sudo). */
  protected async run(full: readonly string[], options: ExecOptions, name = full[0]): Promise<ExecResult> {
    const prepared = this.preparedAt;
    this.preparedAt = undefined;
    // Opened ahead and idle through a long build: a link that died meanwhile would only be noticed
    // by keepalive's probes, so the first command goes over a new connection.
    if (prepared !== undefined && Date.now() - prepared > PREPARED_STALE_MS) await this.reconnect();
    const connection = await this.connect();
    options.signal?.throwIfAborted();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const collect = (channel: ClientChannel) =>
      new Promise<ExecResult>((resolve, reject) => {
        let exitCode: number | null = null;
        let signal: string | null = null;
        const abort = () => {
          channel.close();
          const reason: unknown = options.signal?.reason;
          reject(reason instanceof Error ? reason : new Error("aborted"));
        };
        options.signal?.addEventListener("abort", abort, { once: true });
        // An abort while the channel opened fired no event: the command must not run on unstopped
        // (a second Ctrl-C then waited for a peer copy's 30 s stall timer).
        if (options.signal?.aborted) abort();
        if (options.stdout !== undefined) channel.pipe(options.stdout, { end: false });
        else channel.on("data", (chunk: Buffer) => (options.onStdout ? options.onStdout(chunk) : stdout.push(chunk)));
        channel.stderr.on("data", (chunk: Buffer) => (options.onStderr ? options.onStderr(chunk) : stderr.push(chunk)));
        channel.on("exit", (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig ?? null;
        });
        channel.on("close", () => {
          options.signal?.removeEventListener("abort", abort);
          if (exitCode === null && signal === null) {
            reject(
              new HiveError(
                "HIVE_SSH_DISCONNECTED",
                `${this.description}: the connection dropped while running ${name ?? "a command"}`,
              ),
            );
            return;
          }
          resolve({
            exitCode,
            signal,
            stdout: Buffer.concat(stdout).toString(),
            stderr: Buffer.concat(stderr).toString(),
          });
        });
        feedInput(options.stdin, channel, () => channel.close());
      });
    return connection.exec(shellQuote(full), collect, options.stdin instanceof Readable);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    // A handshake still under way (opened ahead for a node whose build then failed, or the run
    // was interrupted) is given up, not waited for: an unreachable host would hold the run's end.
    this.stopOpening?.abort();
    if (connection) (await connection.catch(() => undefined))?.end();
    for (const old of this.retired) old.end();
    this.retired.clear();
  }

  /** Later commands open a new connection; those running now finish on the old one, which then ends. */
  async reconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const old = await connection?.catch(() => undefined);
    if (old === undefined) return;
    this.retired.add(old);
    old.onClose(() => this.retired.delete(old));
    old.endWhenIdle();
  }
}

/** Which SSH a run uses: ssh2, the operator's OpenSSH, or (auto) OpenSSH only where a host needs it. */
export type SshBackend = "auto" | "ssh2" | "openssh";

/** One transport per distinct SSH destination, shared by every phase of a run. */
export class SshTransportPool {
  private readonly transports = new Map<string, SshTransport | OpenSshTransport>();
  private readonly resolved = new Map<string, ResolvedHost>();

  constructor(
    private readonly sources: ConfigSources = defaultConfigSources(),
    private readonly agent: string | undefined = process.env["SSH_AUTH_SOCK"],
    private readonly backend: SshBackend = "auto",
  ) {
    if (backend !== "openssh") preloadSsh2();
  }

  /**
   * Why a host goes through OpenSSH; undefined: through ssh2. The pool's backend (--ssh) decides
   * when it is not auto; else the node's own (deployment.sshTransport); else what the host needs.
   */
  private openSshReason(host: ResolvedHost, nodeBackend: SshBackend): string | undefined {
    const backend = this.backend !== "auto" ? this.backend : nodeBackend;
    if (backend === "ssh2") return undefined;
    const lookupName = knownHostsName(host.hostKeyAlias ?? host.hostName, host.hostKeyAlias ? 22 : host.port);
    const ca = certAuthorityFor([...host.knownHostsFiles, ...host.globalKnownHostsFiles], lookupName);
    const reason =
      host.needsOpenSsh ??
      (ca === undefined ? undefined : `a host certificate (@cert-authority at ${ca.file}:${ca.line})`);
    if (reason !== undefined || backend === "auto") return reason;
    return this.backend === "openssh" ? "--ssh openssh" : "deployment.sshTransport = openssh";
  }

  transportFor(
    target: SshTarget,
    privilegeEscalation: readonly string[],
    sudoPassword?: () => Promise<Buffer>,
    nodeBackend: SshBackend = "auto",
  ): SshTransport | OpenSshTransport {
    const host = this.resolve(target);
    const reason = this.openSshReason(host, nodeBackend);
    const key = JSON.stringify([
      host.user,
      host.hostName,
      host.port,
      host.proxyJump.map((h) => [h.user, h.hostName, h.port]),
      host.proxyCommand,
      privilegeEscalation,
      sudoPassword !== undefined,
      reason !== undefined,
    ]);
    let transport = this.transports.get(key);
    if (transport === undefined) {
      const options = { privilegeEscalation, agent: this.agent, sudoPassword };
      transport =
        reason === undefined
          ? new SshTransport(host, options)
          : new OpenSshTransport({ ...host, ignoredConfig: [] }, options, {
              args: this.openSshArgs(target),
              home: this.sources.home ?? homedir(),
              reason,
            });
      this.transports.set(key, transport);
    }
    return transport;
  }

  /** A target's settings, resolved once per run (every phase and node that names it shares them). */
  private resolve(target: SshTarget): ResolvedHost {
    const key = JSON.stringify([target.host, target.port, target.user, target.sshOptions, target.node]);
    let host = this.resolved.get(key);
    if (host === undefined) {
      host = resolveSshTarget(target, this.sources);
      this.resolved.set(key, host);
    }
    return host;
  }

  /** The host as the operator's ssh names it: their config file, the node's flags, port and user. */
  private openSshArgs(target: SshTarget): string[] {
    return [
      ...configFileArgs(this.sources.userConfig, this.sources.home ?? homedir()),
      ...target.sshOptions,
      ...(target.port !== null ? ["-p", String(target.port)] : []),
      ...(target.user !== null ? ["-l", target.user] : []),
      "--",
      target.host,
    ];
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
  }
}
