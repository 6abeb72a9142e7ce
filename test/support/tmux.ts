import { setTimeout as sleep } from "node:timers/promises";
import { ok, run } from "./run.js";

let sessions = 0;

/**
 * A command on a real terminal (a tmux pane), seen and typed at as a person would: the pane's
 * screen is what tmux renders from hive's output, escape sequences and all.
 */
export class TmuxSession {
  private constructor(
    private readonly socket: string,
    private readonly name: string,
  ) {}

  static async start(
    command: string,
    options: { width?: number; height?: number; env?: Record<string, string> } = {},
  ): Promise<TmuxSession> {
    // A server per session: a server whose last session was just killed may still be exiting.
    const socket = `hive-test-${process.pid}-${++sessions}`;
    const name = "hive";
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    // The pane stays after the command ends, showing its exit status.
    const shell = `env ${env.join(" ")} ${command}; echo "[exit $?]"; sleep 3600`;
    await ok("tmux", [
      "-L",
      socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(options.width ?? 120),
      "-y",
      String(options.height ?? 40),
      shell,
    ]);
    return new TmuxSession(socket, name);
  }

  /** The screen as it is now, one string per row (trailing blanks trimmed). */
  async screen(): Promise<string> {
    return ok("tmux", ["-L", this.socket, "capture-pane", "-p", "-t", this.name]);
  }

  /** The screen with colours as escape sequences. */
  async screenWithColours(): Promise<string> {
    return ok("tmux", ["-L", this.socket, "capture-pane", "-p", "-e", "-t", this.name]);
  }

  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never matched ${String(pattern)}:\n${screen}`);
      await sleep(100);
    }
  }

  /** Types keys (tmux key names: "Enter", "C-c", or literal text). */
  async send(...keys: string[]): Promise<void> {
    await ok("tmux", ["-L", this.socket, "send-keys", "-t", this.name, ...keys]);
  }

  async kill(): Promise<void> {
    await run("tmux", ["-L", this.socket, "kill-server"]);
  }
}
