import { randomUUID } from "node:crypto";
import { writePayloadHive, type TestbedHost } from "@hive/testbed";

/**
 * A hive.nix whose nodes share new paths (`shared`, a fresh seed each time) beside one small path
 * of their own, each reached through its `-link` alias (the fleet's uplink), with `nodeExtra(name)`
 * added to its module.
 */
export function sharedPathsHive(
  names: readonly string[],
  shared: { paths: number; bytes: number },
  nodeExtra: (name: string) => string = () => "",
): Promise<string> {
  return writePayloadHive(names, {
    shared,
    perHost: { paths: 1, bytes: 65536 },
    seed: randomUUID(),
    nodeExtra: (n) => `deployment.targetHost = "${n}-link"; ${nodeExtra(n)}`,
    prefix: "hive-shared-paths-",
  });
}

/** root's authorized_keys in the host's own home (as sshd reads it there), for a shell on the host. */
export const ROOT_KEYS = '"$(getent passwd root | cut -d: -f6)/.ssh/authorized_keys"';

/** What fan-out left on a host: ephemeral key directories, and key lines let in. "" when nothing. */
export async function fanOutLeftovers(host: TestbedHost): Promise<string> {
  const found = await host.run([
    "sh",
    "-c",
    `ls -d /run/hive-fan-out-* 2> /dev/null; grep -h hive-fan-out ${ROOT_KEYS} 2> /dev/null; true`,
  ]);
  return found.stdout.trim();
}
