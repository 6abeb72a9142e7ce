import { Readable } from "node:stream";
import type { ClientChannel } from "ssh2";
import { HiveError, type ExecOptions, type ExecResult } from "@hive/core";
import { EscalatingTransport } from "./escalating-transport.js";
import { SshConnection } from "./ssh-connection.js";
import {
  defaultConfigSources,
  resolveSshTarget,
  type ConfigSources,
  type SshTarget,
} from "./ssh-config.js";
import { shellQuote } from "./shell-quote.js";

/**
 * A host reached over SSH: one connection, opened on first use and reused by every command
 * (channels run side by side), opened again if it drops.
 */
export class SshTransport extends EscalatingTransport {
  private connection: Promise<SshConnection> | undefined;
  /** How many connections this transport has opened (to prove reuse). */
  connectionsOpened = 0;

  get sshAddress(): { user: string; hostName: string; port: number } | undefined {
    const { user, hostName, port, proxyJump } = this.host;
    return proxyJump.length > 0 ? undefined : { user, hostName, port };
  }

  private connect(): Promise<SshConnection> {
    if (this.connection === undefined) {
      this.connectionsOpened++;
      const opening = SshConnection.open(this.host, { agent: this.options.agent });
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
        if (options.stdin === undefined) channel.end();
        else if (options.stdin instanceof Readable) {
          const input = options.stdin;
          input.pipe(channel);
          // Input that breaks off (its producer failed) must not leave the command waiting for more.
          input.once("error", () => channel.close());
          input.once("close", () => {
            if (!input.readableEnded) channel.close();
          });
        } else channel.end(options.stdin);
      });
    return connection.exec(shellQuote(full), collect);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.end();
  }
}

/** One transport per distinct SSH destination, shared by every phase of a run. */
export class SshTransportPool {
  private readonly transports = new Map<string, SshTransport>();

  constructor(
    private readonly sources: ConfigSources = defaultConfigSources(),
    private readonly agent: string | undefined = process.env["SSH_AUTH_SOCK"],
  ) {}

  transportFor(
    target: SshTarget,
    privilegeEscalation: readonly string[],
    sudoPassword?: () => Promise<Buffer>,
  ): SshTransport {
    const host = resolveSshTarget(target, this.sources);
    const key = JSON.stringify([
      host.user,
      host.hostName,
      host.port,
      host.proxyJump.map((h) => [h.user, h.hostName, h.port]),
      host.proxyCommand,
      privilegeEscalation,
      sudoPassword !== undefined,
    ]);
    let transport = this.transports.get(key);
    if (transport === undefined) {
      transport = new SshTransport(host, { privilegeEscalation, agent: this.agent, sudoPassword });
      this.transports.set(key, transport);
    }
    return transport;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
  }
}
