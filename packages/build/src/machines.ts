import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { HiveError } from "@hive/core";

/** A remote builder, as a line of Nix's machines file describes it. */
export interface Machine {
  uri: string;
  systems: string[];
  sshKey: string | undefined;
  maxJobs: number;
  speedFactor: number;
  supportedFeatures: string[];
  mandatoryFeatures: string[];
  publicHostKey: string | undefined;
}

const list = (field: string | undefined) =>
  field === undefined || field === "-" ? [] : field.split(",").filter(Boolean);
const value = (field: string | undefined) => (field === undefined || field === "-" ? undefined : field);

function positive(field: string | undefined, fallback: number, what: string, line: string): number {
  if (value(field) === undefined) return fallback;
  const n = Number(field);
  if (!Number.isInteger(n) || n < 0)
    throw new HiveError("HIVE_USAGE", `machines: ${what} must be a whole number in ${JSON.stringify(line)}`);
  return n;
}

/**
 * Parses Nix's machines format: one builder per line (or per ';'-separated entry, as in the
 * `builders` setting): URI, systems, SSH key, max jobs, speed factor, supported and mandatory
 * features, host key; '-' leaves a field at its default; '#' starts a comment.
 */
export function parseMachines(text: string, localSystem: string): Machine[] {
  const machines: Machine[] = [];
  for (const raw of text.split(/[\n;]/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [uri = "", systems, key, jobs, speed, supported, mandatory, hostKey] = line.split(/\s+/);
    if (!/^(ssh|ssh-ng):\/\//.test(uri) && !/^[\w.-]+(@[\w.-]+)?$/.test(uri))
      throw new HiveError("HIVE_USAGE", `machines: ${JSON.stringify(uri)} is not a builder URI`, {
        hint: "use ssh://[user@]host or ssh-ng://[user@]host, as in Nix's machines file",
      });
    machines.push({
      uri: uri.includes("://") ? uri : `ssh://${uri}`,
      systems: list(systems).length > 0 ? list(systems) : [localSystem],
      sshKey: value(key),
      maxJobs: positive(jobs, 1, "max jobs", line),
      speedFactor: positive(speed, 1, "speed factor", line),
      supportedFeatures: list(supported),
      mandatoryFeatures: list(mandatory),
      publicHostKey: value(hostKey),
    });
  }
  return machines;
}

/** Builders from --builders (a spec, or @FILE) or else meta.machinesFile (relative to the hive). */
export async function loadMachines(
  options: { builders?: string | undefined; machinesFile?: string | null | undefined; hiveDir: string },
  localSystem: string,
): Promise<Machine[]> {
  let text: string | undefined;
  let from: string;
  if (options.builders !== undefined) {
    const file = options.builders.startsWith("@") ? options.builders.slice(1) : undefined;
    from = file ?? "--builders";
    text = file === undefined ? options.builders : await readText(resolve(file), "--builders");
  } else if (options.machinesFile) {
    from = resolve(options.hiveDir, options.machinesFile);
    text = await readText(from, "meta.machinesFile");
  } else {
    return [];
  }
  try {
    return parseMachines(text, localSystem);
  } catch (error) {
    if (error instanceof HiveError)
      throw new HiveError(error.code, `${from}: ${error.message}`, { hint: error.hint ?? "" });
    throw error;
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new HiveError("HIVE_USAGE", `${what}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The machines in Nix's `builders` syntax, for --builders. */
export function formatMachines(machines: readonly Machine[]): string {
  const field = (v: string | undefined) => v ?? "-";
  const join = (v: readonly string[]) => (v.length === 0 ? "-" : v.join(","));
  return machines
    .map((m) =>
      [
        m.uri,
        join(m.systems),
        field(m.sshKey),
        String(m.maxJobs),
        String(m.speedFactor),
        join(m.supportedFeatures),
        join(m.mandatoryFeatures),
        field(m.publicHostKey),
      ].join(" "),
    )
    .join(" ; ");
}
