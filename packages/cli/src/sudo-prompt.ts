import { openSync } from "node:fs";
import { ReadStream } from "node:tty";
import { HiveError } from "@hive/core";

/**
 * Reads a line from the terminal without echoing it: stdin when it is a terminal, else
 * /dev/tty (so that `... | hive apply --interactive-sudo` still asks the person). The answer is
 * kept in a Buffer and never printed.
 */
export function askHidden(question: string): Promise<Buffer> {
  let input: ReadStream;
  let own = false;
  if (process.stdin.isTTY) input = process.stdin;
  else {
    try {
      input = new ReadStream(openSync("/dev/tty", "r"));
      own = true;
    } catch {
      return Promise.reject(
        new HiveError("HIVE_USAGE", "--interactive-sudo asks for the sudo password on a terminal, and there is none", {
          hint: "run hive from a terminal, or allow the deploy user sudo without a password (NOPASSWD)",
        }),
      );
    }
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    const typed: number[] = [];
    const done = (error?: Error) => {
      input.removeListener("data", onData);
      input.setRawMode(false);
      if (own) input.destroy();
      else input.pause();
      process.stderr.write("\n");
      const answer = Buffer.from(typed);
      typed.fill(0);
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a) return done();
        if (byte === 0x03)
          return done(new HiveError("HIVE_INTERRUPTED", "interrupted while asking for the sudo password"));
        if (byte === 0x04 && typed.length === 0) return done();
        if (byte === 0x7f || byte === 0x08) typed.pop();
        else if (byte === 0x15) typed.length = 0;
        else typed.push(byte);
      }
    };
    input.setRawMode(true);
    input.on("data", onData);
    input.resume();
  });
}

/** The sudo password of a run: asked for once, when first needed, then shared by every host. */
export class SudoPassword {
  private answer: Promise<Buffer> | undefined;

  constructor(private readonly ask: (question: string) => Promise<Buffer> = askHidden) {}

  readonly get = (): Promise<Buffer> => {
    this.answer ??= this.ask("[hive] sudo password for the deploy user: ");
    return this.answer;
  };
}
