import { Readable } from "node:stream";
import { HiveError, type ExecOptions, type ExecResult, type Transport } from "@hive/core";
import type { ResolvedHost } from "./ssh-config.js";

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
 * What every SSH transport does alike: privileged commands through the host's escalation command,
 * and the sudo password of --interactive-sudo fed on stdin where the host's sudo wants it. Each
 * transport runs commands its own way (`run`).
 */
export abstract class EscalatingTransport implements Transport {
  /** How many connections this transport has opened (to prove reuse). */
  connectionsOpened = 0;

  constructor(
    readonly host: ResolvedHost,
    protected readonly options: SshTransportOptions,
  ) {}

  get description(): string {
    return `${this.host.user}@${this.host.alias}:${this.host.port}`;
  }

  /** Runs `full` as it is; `name` is the command for messages (not sudo). */
  protected abstract run(full: readonly string[], options: ExecOptions, name?: string): Promise<ExecResult>;

  abstract close(): Promise<void>;

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
}
