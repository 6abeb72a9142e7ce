import type { Argv } from "yargs";

/**
 * Colmena's global options, so that `colmena <anything>` command lines work as `hive <anything>`:
 * the hive options (each command that reads the hive honours them), `--color` for every command,
 * and the flags that have no meaning here, accepted with a one-line note.
 */
export function withColmenaGlobals<T>(y: Argv<T>) {
  return y
    .option("config", { alias: "f", type: "string", describe: "the hive (see each command's help)", global: true })
    .option("show-trace", { type: "boolean", describe: "show Nix's full trace on evaluation errors", global: true })
    .option("impure", { type: "boolean", describe: "allow impure evaluation", global: true })
    .option("nix-option", {
      type: "string",
      array: true,
      nargs: 2,
      describe: "pass --option NAME VALUE to Nix",
      global: true,
    })
    .option("color", {
      type: "string",
      choices: ["auto", "always", "never"] as const,
      describe: "colour on terminals; auto honours NO_COLOR and FORCE_COLOR",
      global: true,
    })
    .option("legacy-flake-eval", { type: "boolean", hidden: true, global: true })
    .option("experimental-flake-eval", { type: "boolean", hidden: true, global: true })
    .middleware((argv) => {
      // Every renderer (and every library that colours) reads these.
      if (argv["color"] === "never") {
        process.env["NO_COLOR"] = "1";
        delete process.env["FORCE_COLOR"];
      } else if (argv["color"] === "always") process.env["FORCE_COLOR"] = "1";
      for (const note of colmenaNotes(argv)) process.stderr.write(`hive: note: ${note}\n`);
    });
}

/** One line for each Colmena flag on the command line that means nothing to hive. */
export function colmenaNotes(argv: Record<string, unknown>): string[] {
  const notes: string[] = [];
  const evaluator = argv["evaluator"];
  if (typeof evaluator === "string")
    notes.push(
      `--evaluator ${evaluator} has no effect: hive evaluates nodes in chunks with its own evaluator (--eval-node-limit sets their size)`,
    );
  if (argv["legacy-flake-eval"] === true)
    notes.push("--legacy-flake-eval has no effect: hive evaluates flakes with `nix eval` and the flake's own lock");
  if (argv["experimental-flake-eval"] === true)
    notes.push("--experimental-flake-eval has no effect: flakes are always evaluated directly");
  return notes;
}
