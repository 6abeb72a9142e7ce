import { readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVAL_SCHEMA_VERSION, HiveError } from "@hive/core";
import { NixCommandError, nixOptionArgs, runNix, type NixOptions } from "@hive/nix";
import { describeSource, type HiveSource } from "./hive-source.js";
import { nixString } from "./nix-literal.js";

const EVALUATOR = readFileSync(new URL("../assets/evaluator.nix", import.meta.url), "utf8");
/** hive's deployment options, a module of their own (users import it in nixosConfigurations). */
const DEPLOYMENT_OPTIONS = readFileSync(new URL("../assets/deployment-options.nix", import.meta.url), "utf8");

const MISSING_OUTPUT = /does not provide attribute .*'"?(colmenaHive|colmena|nixosConfigurations)"?'/;

/** A query's value, and what its nix process cost, when Nix says. */
export interface MeasuredResult {
  value: unknown;
  allocatedBytes: number | undefined;
  cpuMs: number | undefined;
}

/** How one query runs. */
interface QueryCall {
  impure: boolean;
  readOnly: boolean;
  signal: AbortSignal | undefined;
  env: Record<string, string>;
}

/** The flake outputs hive deploys, in the order it looks for them. */
const FLAKE_OUTPUTS = ["colmenaHive", "colmena", "nixosConfigurations"] as const;
type FlakeOutput = (typeof FLAKE_OUTPUTS)[number];

/** The evaluator, called with its settings: applied to a value, it gives hive's queries. */
function evaluatorCall(hermetic: boolean, output: FlakeOutput | undefined): string {
  const kind = output === "nixosConfigurations" ? "nixosConfigurations" : "hive";
  return `(${EVALUATOR}) { hermetic = ${String(hermetic)}; schema = ${EVAL_SCHEMA_VERSION}; kind = "${kind}"; deploymentOptions = (${DEPLOYMENT_OPTIONS}); }`;
}

/**
 * Runs queries against a hive through `nix eval --apply`: the evaluator is applied to the hive
 * value (a flake's colmenaHive/colmena output, or a hive.nix file), so flakes are evaluated
 * purely unless --impure is given.
 */
export class EvaluatorQuery {
  private flakeOutput: FlakeOutput | undefined;
  /**
   * Set once a query has ended well: the flake's lock file is then as Nix wants it. Later queries
   * never write it, since they may run side by side (Nix writes it in place: a second writer can
   * leave it empty for another process to read).
   */
  private lockSettled = false;

  constructor(
    readonly source: HiveSource,
    readonly nix: NixOptions,
  ) {}

  private get hermetic(): boolean {
    return this.source.kind === "flake" && !this.nix.impure;
  }

  private applyExpression(body: string, output: FlakeOutput | undefined): string {
    return `hive: let e = ${evaluatorCall(this.hermetic, output)} hive; in ${body}`;
  }

  private args(installable: readonly string[], body: string, call: QueryCall, output?: FlakeOutput): string[] {
    return [
      "eval",
      "--json",
      ...nixOptionArgs(this.nix),
      ...(call.impure || this.nix.impure || this.source.kind === "file" ? ["--impure"] : []),
      ...(call.readOnly && this.source.kind === "flake" ? ["--no-write-lock-file"] : []),
      ...installable,
      "--apply",
      this.applyExpression(body, output),
    ];
  }

  private runOptions(signal: AbortSignal | undefined): { signal?: AbortSignal; showTrace: boolean } {
    return signal ? { signal, showTrace: this.nix.showTrace ?? false } : { showTrace: this.nix.showTrace ?? false };
  }

  /**
   * Like run, and also says what the nix process cost (from Nix's statistics): the bytes it
   * allocated and its CPU time, which is how chunks learn their size.
   */
  async runMeasured(
    body: string,
    options: { signal?: AbortSignal | undefined; readOnly?: boolean } = {},
  ): Promise<MeasuredResult> {
    const statsPath = join(tmpdir(), `hive-nix-stats-${randomUUID()}.json`);
    try {
      const value = await this.run(body, { ...options, env: { NIX_SHOW_STATS: "1", NIX_SHOW_STATS_PATH: statsPath } });
      let stats: { gc?: { totalBytes?: unknown }; cpuTime?: unknown } = {};
      try {
        stats = JSON.parse(await readFile(statsPath, "utf8")) as typeof stats;
      } catch {
        // no statistics: nothing learnt from this process
      }
      const allocatedBytes = typeof stats.gc?.totalBytes === "number" ? stats.gc.totalBytes : undefined;
      const cpuMs = typeof stats.cpuTime === "number" ? stats.cpuTime * 1000 : undefined;
      return { value, allocatedBytes, cpuMs };
    } finally {
      await rm(statsPath, { force: true });
    }
  }

  /** Evaluates `body` (a Nix expression over `e`, the evaluator's queries) and returns its JSON. */
  async run(
    body: string,
    options: {
      signal?: AbortSignal | undefined;
      impure?: boolean;
      env?: Record<string, string>;
      /** Never writes the flake's lock file: for a query beside another that may write it. */
      readOnly?: boolean;
    } = {},
  ): Promise<unknown> {
    const call: QueryCall = {
      impure: options.impure ?? false,
      readOnly: options.readOnly ?? this.lockSettled,
      signal: options.signal,
      env: options.env ?? {},
    };
    if (this.source.kind === "file") return this.runOn(["--file", this.source.path], body, call);
    if (this.flakeOutput !== undefined)
      return this.runOn([`${this.source.ref}#${this.flakeOutput}`], body, call, this.flakeOutput);
    // The first query also finds the output: colmenaHive when the flake has it (as Colmena
    // prefers), then colmena, then nixosConfigurations (each configuration a node).
    for (const output of FLAKE_OUTPUTS) {
      try {
        const result = await this.runOn([`${this.source.ref}#${output}`], body, call, output);
        this.flakeOutput = output;
        return result;
      } catch (error) {
        if (!(error instanceof NixCommandError && MISSING_OUTPUT.test(error.stderr))) throw error;
      }
    }
    throw new HiveError(
      "HIVE_HIVE_NOT_FOUND",
      `${describeSource(this.source)} has no colmenaHive, colmena or nixosConfigurations output`,
      {
        hint: "a hive flake sets outputs.colmena (a Colmena hive), outputs.colmenaHive (colmena.lib.makeHive applied to it) or outputs.nixosConfigurations (nixpkgs.lib.nixosSystem per host)",
      },
    );
  }

  private async runOn(
    installable: readonly string[],
    body: string,
    call: QueryCall,
    output?: FlakeOutput,
  ): Promise<unknown> {
    const result = await runNix("nix", this.args(installable, body, call, output), {
      ...this.runOptions(call.signal),
      env: call.env,
    });
    this.lockSettled = true;
    return JSON.parse(result.stdout) as unknown;
  }

  /** A failure that concerns the whole hive (syntax, meta, nixpkgs), in hive's words. */
  globalError(error: unknown): unknown {
    if (!(error instanceof NixCommandError)) return error;
    return new HiveError("HIVE_EVAL_FAILED", `evaluating ${describeSource(this.source)} failed:\n${error.message}`, {
      hint: this.nix.showTrace ? "" : "run again with --show-trace for Nix's full trace",
      cause: error,
    });
  }

  /** The expression `hive repl` loads: the hive's nodes, pkgs and lib (always impure). */
  async replExpression(signal?: AbortSignal): Promise<string> {
    let value: string;
    if (this.source.kind === "file") {
      value = `import ${nixString(this.source.path)}`;
    } else {
      // getFlake must see the flake as `nix eval` does (a git checkout's subdirectory included),
      // so it gets the URL Nix resolves the reference to.
      const metadata = await runNix("nix", ["flake", "metadata", "--json", this.source.ref], this.runOptions(signal));
      const { resolvedUrl } = JSON.parse(metadata.stdout) as { resolvedUrl?: string };
      // The first query found which output the flake has.
      const output = this.flakeOutput ?? "colmena";
      value = `(builtins.getFlake ${nixString(resolvedUrl ?? this.source.ref)}).outputs.${output}`;
      return `${evaluatorCall(false, output)} (${value})`;
    }
    return `${evaluatorCall(false, undefined)} (${value})`;
  }
}
