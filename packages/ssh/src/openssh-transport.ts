import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HiveError, spawnCommand, type ExecOptions, type ExecResult } from "@hive/core";
import { EscalatingTransport, type SshTransportOptions } from "./escalating-transport.js";
import type { ResolvedHost } from "./ssh-config.js";
import { shellQuote } from "./shell-quote.js";
import { describeHost } from "./ssh-connection.js";

/** How the operator's `ssh` reaches a host: its config, the node's flags, and hive's known-hosts policy. */
export interface OpenSshTarget {
  /** The arguments naming the host as the node gives it: `-F`, deployment.sshOptions, `-p`, `-l`, alias. */
  args: readonly string[];
  /** HOME for ssh (where `~` in its config points). */
  home: string;
  /** Why this host goes through OpenSSH, said once. */
  reason: string;
}

/** An ssh failure (exit 255) as the error hive reports for it. */
function sshFailure(where: string, stderr: string, during: string): HiveError {
  const said = stderr.trim().split("\n").slice(-3).join("; ") || "ssh exited 255";
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr))
    return new HiveError("HIVE_SSH_HOST_KEY_MISMATCH", `${where}: ssh refused the host's key: ${said}`, {
      hint: "check the host's key against your known_hosts files (ssh-keygen -F HOST)",
    });
  if (/Permission denied/i.test(stderr))
    return new HiveError("HIVE_SSH_AUTH_FAILED", `${where}: authentication failed: ${said}`, {
      hint: "check the user, your key or certificate, and the agent (ssh -v HOST shows what ssh tried)",
    });
  if (during === "connect")
    return new HiveError("HIVE_SSH_CONNECT_FAILED", `${where}: cannot connect: ${said}`, {
      hint: "is the host up and sshd listening? ssh -v HOST shows what ssh tried",
    });
  return new HiveError("HIVE_SSH_DISCONNECTED", `${where}: the connection dropped while running ${during}: ${said}`);
}

/**
 * A host reached through the operator's own OpenSSH, for what ssh2 cannot do: user certificates,
 * FIDO and PKCS#11 keys, GSSAPI, host certificates, IdentityAgent. One master connection per host
 * per run (ControlMaster, in a private directory, closed at the end and by itself after a minute
 * unused), so each command costs a channel, not a handshake. Never asks anything (BatchMode).
 */
export class OpenSshTransport extends EscalatingTransport {
  private master: Promise<string> | undefined;

  constructor(
    host: ResolvedHost,
    options: SshTransportOptions,
    readonly openssh: OpenSshTarget,
  ) {
    super(host, options);
  }

  /** The same known-hosts policy as hive's own SSH, and nothing that could prompt. */
  private get policy(): string[] {
    const files = (list: readonly string[]) => list.map((f) => `"${f.replace(/"/g, "")}"`).join(" ") || "/dev/null";
    return [
      "-T",
      "-x",
      "-o",
      "BatchMode=yes",
      "-o",
      `StrictHostKeyChecking=${this.host.strictHostKeyChecking}`,
      "-o",
      `UserKnownHostsFile=${files(this.host.knownHostsFiles)}`,
      "-o",
      `GlobalKnownHostsFile=${files(this.host.globalKnownHostsFiles)}`,
    ];
  }

  private ssh(args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.openssh.home };
    if (this.options.agent) env["SSH_AUTH_SOCK"] = this.options.agent;
    else delete env["SSH_AUTH_SOCK"];
    return spawnCommand("ssh", [...this.policy, ...args], { env }, options);
  }

  /** Opens the master connection once; resolves with its control socket's path. */
  private connect(): Promise<string> {
    this.master ??= (async () => {
      this.connectionsOpened++;
      const dir = await mkdtemp(join(tmpdir(), "hive-openssh-"));
      const control = join(dir, "master");
      const started = await this.ssh(
        [
          "-o",
          "ControlMaster=yes",
          "-o",
          "ControlPersist=60",
          "-o",
          `ControlPath=${control}`,
          // Into the background once authenticated, running nothing: the master is then ready.
          "-f",
          "-N",
          ...this.openssh.args,
        ],
        {},
      );
      if (started.exitCode !== 0) {
        await rm(dir, { recursive: true, force: true });
        throw sshFailure(describeHost(this.host), started.stderr, "connect");
      }
      return control;
    })();
    // A master that could not be opened is tried again by the next command.
    const opening = this.master;
    opening.catch(() => {
      if (this.master === opening) this.master = undefined;
    });
    return opening;
  }

  protected async run(full: readonly string[], options: ExecOptions, name = full[0]): Promise<ExecResult> {
    const control = await this.connect();
    options.signal?.throwIfAborted();
    const result = await this.ssh(
      ["-o", "ControlMaster=no", "-o", `ControlPath=${control}`, ...this.openssh.args, shellQuote(full)],
      options,
    );
    // 255 is ssh's own failure: the connection, not the command.
    if (result.exitCode === 255) throw sshFailure(describeHost(this.host), result.stderr, name ?? "a command");
    return result;
  }

  async close(): Promise<void> {
    await this.leaveMaster("exit");
  }

  /** Later commands go through a new master; sessions on the old one finish (`-O stop`), then it exits. */
  async reconnect(): Promise<void> {
    await this.leaveMaster("stop");
  }

  private async leaveMaster(how: "exit" | "stop"): Promise<void> {
    const master = this.master;
    this.master = undefined;
    const control = await master?.catch(() => undefined);
    if (control === undefined) return;
    await this.ssh(["-o", `ControlPath=${control}`, "-O", how, ...this.openssh.args], {}).catch(() => undefined);
    await rm(join(control, ".."), { recursive: true, force: true });
  }
}
