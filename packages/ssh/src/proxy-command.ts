import { spawn, type ChildProcess } from "node:child_process";
import { Duplex } from "node:stream";
import { HiveError } from "@hive/core";

/** A running ProxyCommand: its stdin and stdout are the connection to the host. */
export interface ProxiedSocket {
  sock: Duplex;
  process: ChildProcess;
  /** The last lines the command wrote to stderr, for messages. */
  stderr: () => string;
  /** Resolves once the command ended and its output was read (or after `ms`, if it goes on). */
  ended: (ms: number) => Promise<void>;
}

/**
 * Starts `ProxyCommand` as OpenSSH does (`sh -c`, tokens already expanded). It must be running
 * before the handshake: one that fails to start is an error naming it.
 */
export function startProxyCommand(command: string, where: string): Promise<ProxiedSocket> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    let errors = "";
    child.stderr.on("data", (c: Buffer) => (errors = `${errors}${c.toString()}`.slice(-2000)));
    const stderr = () => errors.trim().split("\n").slice(-3).join("; ");
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const ended = (ms: number) =>
      Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
    child.once("error", (error) =>
      reject(
        new HiveError("HIVE_SSH_CONNECT_FAILED", `${where}: ProxyCommand ${JSON.stringify(command)} did not start`, {
          cause: error,
        }),
      ),
    );
    child.once("spawn", () => {
      // The connection ends the command, and the command's end ends the connection.
      const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
      child.stdin.on("error", () => undefined);
      child.once("exit", () => sock.destroy());
      resolve({ sock, process: child, stderr, ended });
    });
  });
}
