import { PassThrough, type Readable, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { HiveError, type ExecResult, type StorePath } from "@hive/core";
import {
  ExportToServe,
  greeting,
  queryValidPaths,
  SERVE_MAGIC_2,
  ServeReader,
  SERVE_VERSION,
  type PathInfo,
} from "@hive/nix";
import { AdaptiveGzip } from "./adaptive-gzip.js";
import type { Host } from "./host.js";

/**
 * The free bytes of /nix/store on a line of their own (`free=` when the host cannot say), then
 * the store's server in the same process: one command per push, whatever it asks and sends.
 */
const SERVE = `
set -- $(stat -f -c '%a %S' /nix/store 2> /dev/null)
if [ "$#" = 2 ]; then echo "free=$(($1 * $2))"; else echo free=; fi
exec nix-store --serve --write
`;
const SERVE_GZIP = "gzip -d | nix-store --serve --write";
/** Lines a host's shell start-up files may print before the first line of the script. */
const MAX_NOISE_LINES = 100;

export interface TargetState {
  /** What the target lacks, in the closure's order. */
  missing: PathInfo[];
  /** Free bytes in its /nix/store; undefined when it cannot say. */
  freeBytes: number | undefined;
}

/** One `nix-store --serve --write` on the target: its input, its answers, and how it ended. */
class ServeProcess {
  readonly reader = new ServeReader();
  readonly ended: Promise<ExecResult>;
  /** Rejects when the process ends (for races with a stream that waits on it to read). */
  readonly failure: Promise<never>;

  constructor(
    private readonly host: Host,
    script: string,
    readonly input: Writable & Readable,
  ) {
    this.ended = host.run("push", ["sh", "-c", script], {
      privileged: true,
      stdin: input,
      onStdout: (chunk) => this.reader.push(chunk),
      label: "nix-store --serve",
    });
    this.ended.then(
      () => this.reader.end(this.protocolError("it ended before it answered")),
      (error: unknown) => this.reader.end(error as Error),
    );
    this.failure = this.ended.then(() => {
      throw this.protocolError("it ended before it had taken all it was sent");
    });
    this.failure.catch(() => undefined);
    input.write(greeting());
  }

  protocolError(what: string, hint?: string): HiveError {
    return new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${this.host.node}: push: nix-store --serve on ${this.host.description}: ${what}`,
      hint === undefined ? {} : { hint },
    );
  }

  /** The server's answer to the greeting: its protocol version, which must have AddToStoreNar. */
  async greeted(): Promise<void> {
    const magic = await this.reader.number();
    if (magic !== SERVE_MAGIC_2) throw this.protocolError(`unexpected bytes instead of its greeting (${magic})`);
    const version = await this.reader.number();
    if (version >> 8 !== SERVE_VERSION >> 8 || (version & 0xff) < (SERVE_VERSION & 0xff))
      throw this.protocolError(
        `its protocol version ${version >> 8}.${version & 0xff} is too old`,
        "upgrade Nix on the host: hive needs serve protocol 2.5 or later, as `nix copy --to ssh://` does",
      );
  }

  /**
   * Sends the records of an export as AddToStoreNar commands; resolves once the host added every
   * one. `greeted`: the greeting's answer, read before the acknowledgements.
   */
  async add(framer: ExportToServe, end: boolean, greeted?: Promise<void>): Promise<void> {
    framer.pipe(this.input, { end });
    await Promise.race([finished(framer), this.failure]);
    await greeted;
    for (let acked = 0; acked < framer.records; acked++) {
      const answer = await this.reader.number();
      if (answer !== 1) throw this.protocolError(`unexpected answer ${answer} to a path it was sent`);
    }
  }
}

/**
 * A target's store for one push: it says what it lacks (and its free space), takes paths from
 * an export, and keeps the paths it was asked about from its garbage collector while it runs.
 * Operations run one at a time, in the order they were asked for.
 */
export class TargetStore {
  private readonly server: ServeProcess;
  private readonly free: Promise<number | undefined>;
  private turn: Promise<unknown> = Promise.resolve();
  /** A compressed copy's own server, while it runs. */
  private compressed: ServeProcess | undefined;

  constructor(private readonly host: Host) {
    this.server = new ServeProcess(host, SERVE, new PassThrough());
    this.free = this.readFree();
    this.free.catch(() => undefined);
  }

  private async readFree(): Promise<number | undefined> {
    for (let line = 0; line < MAX_NOISE_LINES; line++) {
      const text = await this.server.reader.line();
      const free = /^free=(\d*)$/.exec(text);
      if (free === null) continue;
      await this.server.greeted();
      return free[1] === "" ? undefined : Number(free[1]);
    }
    throw this.server.protocolError("its shell printed too much before the command ran");
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.turn.then(operation);
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** What the target lacks of `closure` (after fetching what it can from its substituters, if asked). */
  query(closure: readonly PathInfo[], substitute: boolean): Promise<TargetState> {
    return this.serial(async () => {
      this.server.input.write(
        queryValidPaths(
          closure.map((p) => p.path),
          { lock: true, substitute },
        ),
      );
      const freeBytes = await this.free;
      const valid = new Set(await this.server.reader.strings());
      return { missing: closure.filter((p) => !valid.has(p.path)), freeBytes };
    });
  }

  /**
   * Adds `paths` from `exported` (a `nix-store --export` of them, in the order `order` gives once
   * it flows), compressed on the way when asked (through a server of its own behind `gzip -d`).
   */
  add(
    paths: readonly PathInfo[],
    exported: Readable,
    order: () => readonly StorePath[],
    compress: boolean,
  ): Promise<void> {
    return this.serial(async () => {
      const infos = new Map<string, PathInfo>(paths.map((p) => [p.path, p]));
      let next = 0;
      const framer = new ExportToServe(() => infos.get(order()[next++] ?? ""));
      exported.pipe(framer);
      if (!compress) return this.server.add(framer, false);
      const server = new ServeProcess(this.host, SERVE_GZIP, new AdaptiveGzip());
      this.compressed = server;
      try {
        // Behind gzip the answers may come only once the input ends: read them after sending.
        const greeted = server.greeted();
        greeted.catch(() => undefined);
        await server.add(framer, true, greeted);
        await server.ended;
      } finally {
        this.compressed = undefined;
      }
    });
  }

  /** Ends the server once what was asked is done; fails if it did not end well. */
  async close(): Promise<void> {
    await this.turn;
    this.server.input.end();
    await this.server.ended;
  }

  /** Stops the servers at once (their commands are closed): after a failure, or when the run stops. */
  abandon(): void {
    this.compressed?.input.destroy();
    this.server.input.destroy();
    this.server.ended.catch(() => undefined);
  }
}
