#!/usr/bin/env node
import { parseArgs } from "node:util";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { Testbed, DEFAULT_FLEET_ROOT } from "./fleet.js";
import { describeFleet } from "./status.js";
import { checkPrerequisites } from "./prerequisites.js";
import { killProcesses, processesOfHostsUnder } from "./namespaces.js";

const USAGE = `hive-testbed: a real local fleet of sshd hosts with their own Nix stores

Usage:
  hive-testbed up N --dir DIR        start N hosts (h1..hN) that outlive this command
  hive-testbed up --dir DIR --hosts a,b,c   start hosts with these names
  hive-testbed status --dir DIR [--json]
  hive-testbed reboot HOST --dir DIR
  hive-testbed stop-sshd HOST --dir DIR
  hive-testbed start-sshd HOST --dir DIR
  hive-testbed revoke-key HOST --dir DIR
  hive-testbed down --dir DIR        stop every host and remove DIR
  hive-testbed down --all            stop every testbed host under ${DEFAULT_FLEET_ROOT}

Reach a host with: ssh -F DIR/ssh_config h1
Exit codes: 0 done, 1 failed, 2 usage error.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      json: { type: "boolean", default: false },
      all: { type: "boolean", default: false },
      hosts: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    if (command === undefined && !values.help) process.exitCode = 2;
    return;
  }
  if (command === "down" && values.all) {
    await killProcesses(() => processesOfHostsUnder(DEFAULT_FLEET_ROOT));
    return;
  }
  if (values.dir === undefined) throw new UsageError(`${command} needs --dir DIR`);
  const dir = resolve(values.dir);
  const problem = checkPrerequisites();
  if (problem) throw new Error(problem);

  if (command === "up") {
    const names = values.hosts?.split(",").filter((n) => n !== "");
    const count = Number(arg ?? "3");
    if (names === undefined && (!Number.isInteger(count) || count < 1 || count > 200)) {
      throw new UsageError(`up takes a host count from 1 to 200, not ${arg}`);
    }
    const hosts = names === undefined ? count : names.map((name) => ({ name }));
    const fleet = await Testbed.start({ hosts, dir, detached: true });
    process.stdout.write(
      `${fleet.hosts.length} hosts up in ${dir}\n  ssh -F ${fleet.sshConfigPath} ${fleet.hosts[0]?.name}\n`,
    );
    return;
  }
  const fleet = await Testbed.attach(dir);
  switch (command) {
    case "status": {
      const rows = await describeFleet(fleet);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else {
        for (const r of rows) {
          process.stdout.write(
            `${r.name.padEnd(8)} port ${r.port}  sshd ${r.sshd.padEnd(7)}  boot ${r.bootId.slice(0, 8)}  system ${r.currentSystem ?? "-"}\n`,
          );
        }
      }
      return;
    }
    case "reboot":
      await fleet.reboot(requireHost(arg), { detached: true });
      return;
    case "stop-sshd":
      await fleet.host(requireHost(arg)).stopSshd();
      return;
    case "start-sshd":
      await fleet.startSshd(requireHost(arg), { detached: true });
      return;
    case "revoke-key":
      await fleet.host(requireHost(arg)).setAuthorizedKeys([]);
      return;
    case "down":
      await fleet.stop();
      await rm(dir, { recursive: true, force: true });
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function requireHost(name: string | undefined): string {
  if (name === undefined) throw new UsageError("name a host, e.g. h1");
  return name;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
  process.stderr.write(
    `hive-testbed: ${(error as Error).message}\n${usage ? "Run 'hive-testbed --help' for usage.\n" : ""}`,
  );
  process.exitCode = usage ? 2 : 1;
});
