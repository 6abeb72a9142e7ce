import { Readable } from "node:stream";
import type { ClientChannel } from "ssh2";
import { HiveError, type ExecOptions, type ExecResult, type Transport } from "@hive/core";
import { SshConnection } from "./ssh-connection.js";
import {
  defaultConfigSources,
  resolveSshTarget,
  type ConfigSources,
  type ResolvedHost,
  type SshTarget,
} from "./ssh-config.js";
import { shellQuote } from "./shell-quote.js";

export interface SshTransportOptions {
  /** deployment.privilegeEscalationCommand, used for privileged commands when not root. */
  privilegeEscalation: readonly string[];
  /** SSH_AUTH_SOCK, if an agent should be asked. */
  agent?: string | undefined;
  /**
   * The sudo password (`--interactive-sudo`), asked for when first needed: fed to `sudo -S` on
   * stdin, never in argv. Hosts whose sudo needs no password never see it.
   */
  sudoPassword?: (() => Promise<Buffer>) | undefined;
}

const NEWLINE = Buffer.from("\n");

/** A command's input with one line before it (sudo -S reads its password up to the newline, byte by byte). */
function withLine(line: Buffer, stdin: ExecOptions["stdin"]): NonNullable<ExecOptions["stdin"]> {
  const first = Buffer.concat([line, NEWLINE]);
  if (stdin === undefined) return first;
  if (!(stdin instanceof Readable)) return Buffer.concat([first, Buffer.from(stdin)]);
  const input = stdin;
  return Readable.from(
    (async function* () {
      yield first;
      for await (const chunk of input) yield chunk as Buffer;
    })(),
  );
}

const SUDO_NEEDS_PASSWORD = /sudo: (a password is required|a terminal is required|no tty present)/;

/**
 * A host reached over SSH: one connection, opened on first use and reused by every command
 * (channels run side by side), opened again if it drops.
 */
export class SshTransport implements Transport {
  private connection: Promise<SshConnection> | undefined;
  /** How many connections this transport has opened (to prove reuse). */
  connectionsOpened = 0;

  constructor(
    readonly host: ResolvedHost,
    private readonly options: SshTransportOptions,
  ) {}

  get description(): string {
    return `${this.host.user}@${this.host.alias}:${this.host.port}`;
  }

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

  /** Whether privileged commands feed sudo the password: asked once per transport. */
  private sudoFeeds: Promise<Buffer | undefined> | undefined;

  /**
   * With a sudo password at hand: does this host's sudo want it? `sudo -n true` says; if it does,
   * the password is tried once, alone, so that a wrong one fails here with a clear message and
   * never makes sudo read a command's input as further attempts.
   */
  private passwordForSudo(): Promise<Buffer | undefined> {
    const source = this.options.sudoPassword;
    if (source === undefined) return Promise.resolve(undefined);
    this.sudoFeeds ??= (async () => {
      const [sudo] = this.options.privilegeEscalation;
      const probe = await this.run([sudo ?? "sudo", "-n", "true"], {});
      if (probe.exitCode === 0) return undefined;
      if (sudo !== "sudo" && !sudo?.endsWith("/sudo"))
        throw new HiveError(
          "HIVE_PRIVILEGE_ESCALATION_FAILED",
          `${this.description}: --interactive-sudo feeds a password to sudo, and privilegeEscalationCommand is ${this.options.privilegeEscalation.join(" ")}`,
          { hint: "use sudo as deployment.privilegeEscalationCommand, or allow the user without a password" },
        );
      const password = await source();
      const check = await this.run([sudo, "-S", "-k", "-p", "", "true"], { stdin: Buffer.concat([password, NEWLINE]) });
      if (check.exitCode !== 0)
        throw new HiveError(
          "HIVE_PRIVILEGE_ESCALATION_FAILED",
          `${this.description}: sudo did not accept the password given to --interactive-sudo`,
          { hint: `run again and type the sudo password of ${this.host.user} on this host` },
        );
      return password;
    })();
    // A connection that dropped during the probe is asked again next time; a refusal is final.
    const asked = this.sudoFeeds;
    asked.catch((error: unknown) => {
      if (
        !(error instanceof HiveError && error.code === "HIVE_PRIVILEGE_ESCALATION_FAILED") &&
        this.sudoFeeds === asked
      )
        this.sudoFeeds = undefined;
    });
    return asked;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const escalate = options.privileged === true && this.host.user !== "root";
    if (!escalate) return this.run(argv, options);
    const password = await this.passwordForSudo();
    if (password === undefined) return this.escalated([...this.options.privilegeEscalation, ...argv], options, argv[0]);
    // `-k`: always ask (the password is on stdin whatever sudo cached); `-p ''`: print no prompt.
    const [sudo = "sudo", ...rest] = this.options.privilegeEscalation;
    return this.escalated(
      [sudo, "-S", "-k", "-p", "", ...rest, ...argv],
      {
        ...options,
        stdin: withLine(password, options.stdin),
      },
      argv[0],
    );
  }

  private async escalated(
    full: readonly string[],
    options: ExecOptions,
    name: string | undefined,
  ): Promise<ExecResult> {
    const result = await this.run(full, options, name);
    if (result.exitCode !== 0 && SUDO_NEEDS_PASSWORD.test(result.stderr)) {
      throw new HiveError(
        "HIVE_PRIVILEGE_ESCALATION_FAILED",
        `${this.description}: ${this.options.privilegeEscalation.join(" ")} asks for a password`,
        {
          hint: `hive runs privileged commands non-interactively: allow ${this.host.user} to run them without a password (e.g. NOPASSWD in sudoers), pass --interactive-sudo, or deploy as root`,
        },
      );
    }
    return result;
  }

  /** Runs `full` as it is over the connection; `name` is the command for messages (not sudo). */
  private async run(full: readonly string[], options: ExecOptions, name = full[0]): Promise<ExecResult> {
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
