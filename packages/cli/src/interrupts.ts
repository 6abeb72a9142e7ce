import { setMaxListeners } from "node:events";
import { HiveError } from "@hive/core";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Ctrl-C, SIGTERM and SIGHUP during a run. The first stops what changes nothing on hosts
 * (evaluation, builds) and starts nothing new: `starting` aborts. The second aborts the rest:
 * `aborting` aborts, and running activations stop and restore the previous system. Local helper
 * processes run in their own process groups, so only hive hears the terminal.
 */
export class Interrupts {
  readonly starting = new AbortController();
  readonly aborting = new AbortController();
  count = 0;
  private readonly reason = new HiveError("HIVE_INTERRUPTED", "the run was interrupted");
  private readonly listener = (signal: NodeJS.Signals) => this.interrupt(signal);

  constructor(private readonly onFirst: () => void = () => undefined) {
    // Every build, copy and command of the run listens to them: many at once is expected.
    setMaxListeners(0, this.starting.signal);
    setMaxListeners(0, this.aborting.signal);
  }

  install(): () => void {
    for (const signal of SIGNALS) process.on(signal, this.listener);
    return () => {
      for (const signal of SIGNALS) process.off(signal, this.listener);
    };
  }

  private interrupt(signal: NodeJS.Signals): void {
    this.count++;
    if (this.count === 1) {
      process.stderr.write(
        `hive: ${signal}: starting nothing new; running pushes and activations finish (Ctrl-C again to abort them)\n`,
      );
      this.onFirst();
      this.starting.abort(this.reason);
    } else if (this.count === 2) {
      process.stderr.write("hive: aborting: running activations are stopped and restore the previous system\n");
      this.aborting.abort(this.reason);
    }
  }

  /** Throws if the run was interrupted (between steps that cannot be stopped half-way). */
  check(): void {
    this.starting.signal.throwIfAborted();
  }
}
