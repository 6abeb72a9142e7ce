import { parseDrvPath, type DrvPath } from "@hive/core";
import { NixCommandError, runNix } from "@hive/nix";

/** A derivation that has to be built: what it needs and what can build it. */
export interface DrvInfo {
  path: DrvPath;
  system: string;
  /** Its input derivations that have to be built too. */
  inputs: DrvPath[];
  features: string[];
  /** Its output paths (valid once it is built). */
  outputs: string[];
}

export interface BuildPlan {
  /** What Nix will build, by derivation. */
  toBuild: Map<DrvPath, DrvInfo>;
  /** How many paths it will fetch from substituters instead. */
  toFetch: number;
}

/** Parses `nix-store --realise --dry-run`'s report: the derivations to build and paths to fetch. */
export function parseDryRun(stderr: string): { build: string[]; fetch: string[] } {
  const build: string[] = [];
  const fetch: string[] = [];
  let into: string[] | undefined;
  for (const line of stderr.split("\n")) {
    if (/will be built:?$/.test(line)) into = build;
    else if (/will be fetched/.test(line)) into = fetch;
    else if (/^\s+\/nix\/store\//.test(line)) into?.push(line.trim());
    else into = undefined;
  }
  return { build, fetch };
}

interface ShownDerivation {
  system?: string;
  outputs?: Record<string, { path?: string }>;
  inputDrvs?: Record<string, unknown>;
  env?: Record<string, string>;
}

const inStore = (path: string) => (path.startsWith("/") ? path : `/nix/store/${path}`);

/** Derivations' systems, inputs and required features, from `nix show-derivation` (or `nix derivation show`). */
async function showDerivations(drvs: readonly string[], signal: { signal?: AbortSignal }) {
  let stdout: string;
  try {
    stdout = (await runNix("nix", ["show-derivation", ...drvs], signal)).stdout;
  } catch (error) {
    if (!(error instanceof NixCommandError)) throw error;
    stdout = (await runNix("nix", ["derivation", "show", ...drvs], signal)).stdout;
  }
  const shown = JSON.parse(stdout) as Record<string, ShownDerivation>;
  return new Map(Object.entries(shown).map(([path, d]) => [inStore(path), d]));
}

/** What building these derivations takes: each derivation to build with its own inputs to build. */
export async function planBuild(
  drvs: readonly DrvPath[],
  options: { substitute: boolean; nixArgs?: readonly string[]; signal?: AbortSignal },
): Promise<BuildPlan> {
  const signal = options.signal ? { signal: options.signal } : {};
  const dry = await runNix(
    "nix-store",
    [
      "--realise",
      "--dry-run",
      ...(options.substitute ? [] : ["--option", "substitute", "false"]),
      ...(options.nixArgs ?? []),
      ...drvs,
    ],
    signal,
  );
  const { build, fetch } = parseDryRun(dry.stderr);
  const toBuild = new Map<DrvPath, DrvInfo>();
  if (build.length > 0) {
    const shown = await showDerivations(build, signal);
    const wanted = new Set(build);
    for (const path of build) {
      const d = shown.get(path) ?? {};
      toBuild.set(parseDrvPath(path), {
        path: parseDrvPath(path),
        system: d.system ?? "unknown",
        inputs: Object.keys(d.inputDrvs ?? {})
          .map(inStore)
          .filter((p) => wanted.has(p))
          .map(parseDrvPath),
        features: (d.env?.["requiredSystemFeatures"] ?? "").split(/\s+/).filter(Boolean),
        outputs: Object.values(d.outputs ?? {}).flatMap((o) => (o.path ? [inStore(o.path)] : [])),
      });
    }
  }
  return { toBuild, toFetch: fetch.length };
}

/** The derivations among `plan` a toplevel needs built: its own closure of to-build derivations. */
export function closureToBuild(plan: ReadonlyMap<DrvPath, DrvInfo>, top: DrvPath): DrvPath[] {
  const seen = new Set<DrvPath>();
  const visit = (drv: DrvPath) => {
    const info = plan.get(drv);
    if (info === undefined || seen.has(drv)) return;
    seen.add(drv);
    for (const input of info.inputs) visit(input);
  };
  visit(top);
  return [...seen];
}
