import type { Argv } from "yargs";
import { action } from "../report.js";
import { COMPLETION_SCRIPTS } from "../completion.js";

export function completionCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    // gen-completions: Colmena's name.
    ["completion <shell>", "gen-completions <shell>"],
    "Print the shell completion script (commands, options, node names and @tags after --on)",
    (c) =>
      c
        .positional("shell", { type: "string", choices: ["bash", "zsh"] as const, demandOption: true })
        .example("source <(hive completion bash)", "complete hive in this bash session")
        .example("hive completion zsh > ~/.zfunc/_hive", "install for zsh (with ~/.zfunc in $fpath)"),
    action((args) => {
      process.stdout.write(COMPLETION_SCRIPTS[args.shell]);
    }),
  );
}
