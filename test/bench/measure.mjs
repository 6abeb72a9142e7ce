// Side-by-side timing with peak memory of the nix processes a run spawns (sampled from /proc).
import { readdir, readFile } from "node:fs/promises";

// Only this process's children are read (through /proc's children lists), so that sampling
// costs next to nothing beside the work it measures.
async function childrenRss() {
  let total = 0;
  const tasks = await readdir("/proc/self/task");
  for (const task of tasks) {
    let children = "";
    try {
      children = await readFile(`/proc/self/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const pid of children.split(" ").filter((p) => p !== "")) {
      try {
        const status = await readFile(`/proc/${pid}/status`, "utf8");
        if (!(/^Name:\s+(\S+)/m.exec(status)?.[1] ?? "").startsWith("nix")) continue;
        total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      } catch {
        // gone
      }
    }
  }
  return total;
}

/** Runs `work` and returns its wall time (ms) and the peak total RSS of its nix children (bytes). */
export async function measure(work) {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await childrenRss());
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const start = performance.now();
  try {
    await work();
  } finally {
    sampling = false;
  }
  const ms = performance.now() - start;
  await sampler;
  return { ms, peak };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
