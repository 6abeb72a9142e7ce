import { setTimeout as sleep } from "node:timers/promises";
import { HiveError, isHiveError, type StorePath } from "@hive/core";
import type { Host } from "./host.js";

const BOOT_ID = "/proc/sys/kernel/random/boot_id";

// The reboot starts a moment later, in the background, so that this command returns first. The
// new system's tools come first: with goal boot, the running system may have none.
const REBOOT = `PATH="$1/sw/bin:/run/current-system/sw/bin:$PATH"; (sleep 1; reboot) < /dev/null > /dev/null 2>&1 &`;

/**
 * Reboots a node and waits (up to a timeout) until it answers with a new boot id, then checks it
 * booted the system just deployed.
 */
export async function rebootAndWait(
  host: Host,
  system: StorePath,
  options: { timeoutMs: number; onWaiting?: (message: string) => void },
): Promise<void> {
  const node = host.node;
  const before = (await host.run("reboot", ["cat", BOOT_ID])).stdout.trim();
  await host.run("reboot", ["sh", "-c", REBOOT, "hive-reboot", system], { privileged: true });
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "the host still runs the same boot";
  for (let wait = 250; Date.now() < deadline; wait = Math.min(wait * 2, 2000)) {
    host.signal?.throwIfAborted();
    await sleep(wait);
    try {
      const now = (await host.exec(["cat", BOOT_ID])).stdout.trim();
      if (now !== "" && now !== before) {
        const running = await host.readLink("/run/current-system");
        if (running !== system) {
          throw new HiveError(
            "HIVE_ACTIVATION_FAILED",
            `node ${node}: reboot: the host booted ${running ?? "no system"}, not ${system}`,
            {
              hint: "is the boot loader set to the system profile? (deploy with goal boot or switch)",
            },
          );
        }
        return;
      }
    } catch (error) {
      if (!isHiveError(error) || !error.code.startsWith("HIVE_SSH_")) throw error;
      lastError = error.message;
      options.onWaiting?.(`waiting for the host to come back (${error.message})`);
    }
  }
  throw new HiveError(
    "HIVE_ACTIVATION_FAILED",
    `node ${node}: reboot: no new boot id after ${Math.round(options.timeoutMs / 1000)} s (${lastError})`,
    {
      hint: "raise --reboot-timeout for slow machines, or check the host's console",
    },
  );
}
