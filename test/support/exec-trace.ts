import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Testbed } from "@hive/testbed";
import { hiveBin } from "./paths.js";

/**
 * Records every process started, with its whole argv: `strace -f -e trace=execve` on hive's
 * process tree (its children in their own process groups too) and on the host's sshd (every
 * session, sudo, shell and detached activation below it). Unlike sampling /proc, it misses none.
 */
export async function traceExecs(fleet: Testbed, host: string, dir: string) {
  const hostTrace = join(dir, "host.trace");
  const sshdPid = await fleet.host(host).sshdPid();
  if (sshdPid === undefined) throw new Error(`${host} runs no sshd`);
  const tracer = spawn(
    "strace",
    ["-f", "-qq", "-s", "65536", "-e", "trace=execve", "-o", hostTrace, "-p", String(sshdPid)],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let attached = "";
  tracer.stderr.on("data", (c: Buffer) => (attached += c.toString()));
  // strace writes its output file once it has attached.
  for (let i = 0; i < 200 && !existsSync(hostTrace); i++) await sleep(10);
  await sleep(100);
  const localTrace = join(dir, "local.trace");
  return {
    /** hive under strace: its argv, then what strace needs before it. */
    argv: (args: readonly string[]) => [
      "-f",
      // Stops hive's processes at execve alone, not at every system call (strace's default): a
      // traced push then runs at about its own speed on a busy machine.
      "--seccomp-bpf",
      "-qq",
      "-s",
      "65536",
      "-e",
      "trace=execve",
      "-o",
      localTrace,
      process.execPath,
      hiveBin,
      ...args,
    ],
    stop: async () => {
      // strace ends by itself once everything it traces has (then there is no exit left to wait
      // for); told to stop, it detaches, which a tracee stuck in the kernel can hold up.
      if (tracer.exitCode === null && tracer.signalCode === null) {
        const exited = new Promise((resolve) => tracer.once("exit", resolve));
        tracer.kill("SIGINT");
        const stuck = setTimeout(() => tracer.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(stuck);
      }
      return { local: await readFile(localTrace, "utf8"), host: await readFile(hostTrace, "utf8"), attached };
    },
  };
}
