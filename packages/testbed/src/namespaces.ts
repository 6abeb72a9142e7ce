import { readdir, readFile, readlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** The mount namespace of a process (e.g. "mnt:[4026532201]"), or undefined once it is gone. */
export async function mountNamespaceOf(pid: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

async function livePids(): Promise<number[]> {
  const entries = await readdir("/proc");
  return entries.filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Every process whose mount namespace is one of `namespaces`. */
export async function processesIn(namespaces: ReadonlySet<string>): Promise<number[]> {
  if (namespaces.size === 0) return [];
  const found: number[] = [];
  for (const pid of await livePids()) {
    const ns = await mountNamespaceOf(pid);
    if (ns !== undefined && namespaces.has(ns)) found.push(pid);
  }
  return found;
}

/** The marker every testbed host has at /etc/ssh/hive-testbed-host: the host's directory. */
export const hostMarkerPath = "/etc/ssh/hive-testbed-host";

/**
 * Every process running inside a testbed host whose directory is under `dir`, whichever run
 * started it: each host's namespace sees its own marker file holding its directory. Used to sweep
 * hosts that outlived their run and to prove that none did.
 */
export async function processesOfHostsUnder(dir: string): Promise<number[]> {
  const prefix = `${dir.replace(/\/+$/, "")}/`;
  const found: number[] = [];
  for (const pid of await livePids()) {
    let marker: string;
    try {
      marker = await readFile(`/proc/${pid}/root${hostMarkerPath}`, "utf8");
    } catch {
      continue;
    }
    if (`${marker.trim()}/`.startsWith(prefix)) found.push(pid);
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Kills processes as a power cut does: all at once. Each is stopped (SIGSTOP) before any dies, so
 * none of them sees another go and acts on it (a shell noticing its child's death, a session
 * answering before its sshd goes). Processes forked meanwhile are found and stopped too.
 */
export async function killAtOnce(find: () => Promise<number[]>): Promise<void> {
  const stopped = new Set<number>();
  for (let round = 0; round < 100; round++) {
    const fresh = (await find()).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, "SIGSTOP");
      stopped.add(pid);
    }
  }
  for (const pid of stopped) signal(pid, "SIGKILL");
  await killProcesses(find, { graceMs: 0 });
}

/** Stops processes: SIGTERM, then SIGKILL for whatever is still there after `graceMs`. */
export async function killProcesses(
  find: () => Promise<number[]>,
  { graceMs = 2000 }: { graceMs?: number } = {},
): Promise<void> {
  const first = await find();
  if (first.length === 0) return;
  for (const pid of first) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if ((await find()).length === 0) return;
    await sleep(50);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const left = await find();
    if (left.length === 0) return;
    for (const pid of left) signal(pid, "SIGKILL");
    await sleep(50);
  }
  throw new Error(`processes ${(await find()).join(", ")} survived SIGKILL`);
}
