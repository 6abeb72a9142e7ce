import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { miniNixpkgsPath, type TestbedHost } from "@hive/testbed";

/**
 * A hive.nix whose nodes share new paths (`shared`, a fresh seed each time) beside one small path
 * of their own, each reached through its `-link` alias (the fleet's uplink), with `nodeExtra(name)`
 * added to its module.
 */
export async function sharedPathsHive(
  names: readonly string[],
  shared: { paths: number; bytes: number },
  nodeExtra: (name: string) => string = () => "",
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-shared-paths-"));
  const seed = randomUUID();
  const nodes = names.map(
    (n) =>
      `  ${n} = { networking.hostName = "${n}"; deployment.targetHost = "${n}-link"; ${nodeExtra(n)}
    testbed.hostPayload = { paths = 1; bytes = 65536; seed = "${seed}-${n}"; }; };`,
  );
  await writeFile(
    join(dir, "hive.nix"),
    `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  defaults = { testbed.payload = { paths = ${shared.paths}; bytes = ${shared.bytes}; seed = "${seed}"; }; };
${nodes.join("\n")}
}
`,
  );
  return dir;
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
