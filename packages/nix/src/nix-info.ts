import { runNix } from "./nix-command.js";

export interface NixInfo {
  version: string;
  system: string;
  extraPlatforms: string[];
  substituters: string[];
  builders: string;
  maxJobs: string;
  sandbox: string;
  /** What hive relies on that this Nix lacks, each with what to do. */
  missing: string[];
}

const MINIMUM = [2, 4];

function atLeast(version: string, [major, minor]: number[]): boolean {
  const [a = 0, b = 0] = version.split(".").map((p) => Number.parseInt(p, 10));
  return a > (major ?? 0) || (a === major && b >= (minor ?? 0));
}

function setting(config: Record<string, { value?: unknown } | undefined>, name: string): string {
  const value = config[name]?.value;
  if (Array.isArray(value)) return value.map(String).join(" ");
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "";
}

async function nixConfig(options: { signal?: AbortSignal }): Promise<Record<string, { value?: unknown }>> {
  return JSON.parse((await runNix("nix", ["show-config", "--json"], options)).stdout) as Record<
    string,
    { value?: unknown }
  >;
}

const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === "string" && v !== "" ? v.split(" ") : []);

/** The systems this machine builds: its own, then its extra-platforms (one `nix show-config`). */
export async function localBuildSystems(options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const config = await nixConfig(options);
  return [setting(config, "system") || "unknown", ...list(setting(config, "extra-platforms"))];
}

/** The local Nix's version and the settings hive's work depends on. */
export async function readNixInfo(options: { signal?: AbortSignal } = {}): Promise<NixInfo> {
  const versionLine = (await runNix("nix", ["--version"], options)).stdout.trim();
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(versionLine)?.[1] ?? versionLine;
  const config = await nixConfig(options);
  const missing: string[] = [];
  if (!atLeast(version, MINIMUM))
    missing.push(`Nix ${MINIMUM.join(".")} or newer (for flakes and 'nix eval --apply'); found ${version}`);
  for (const program of ["nix-store", "nix-instantiate", "nix-env"]) {
    try {
      await runNix(program, ["--version"], options);
    } catch {
      missing.push(`${program} on PATH`);
    }
  }
  return {
    version,
    system: setting(config, "system") || "unknown",
    extraPlatforms: list(setting(config, "extra-platforms")),
    substituters: list(setting(config, "substituters")),
    builders: setting(config, "builders"),
    maxJobs: setting(config, "max-jobs"),
    sandbox: setting(config, "sandbox"),
    missing,
  };
}
