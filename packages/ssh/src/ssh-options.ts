import { HiveError } from "@hive/core";

/** What `deployment.sshOptions` (ssh(1) arguments) ask for. */
export interface SshCommandLine {
  configFile?: string;
  /** `-o Key=Value` settings, keys lower-cased; they win over ssh_config, as in OpenSSH. */
  options: Map<string, string[]>;
}

const WITH_VALUE: Record<string, string> = { "-i": "identityfile", "-p": "port", "-J": "proxyjump", "-l": "user" };

function addOption(options: Map<string, string[]>, raw: string, node: string): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/.exec(raw);
  if (!match?.[1] || match[2] === undefined || match[2] === "") {
    throw new HiveError(
      "HIVE_SSH_CONFIG",
      `node ${node}: deployment.sshOptions has -o ${JSON.stringify(raw)}, which is not Key=Value`,
    );
  }
  const key = match[1].toLowerCase();
  options.set(key, [...(options.get(key) ?? []), match[2]]);
}

/** Parses the ssh(1) options hive understands; any other flag is an error that names it. */
export function parseSshOptions(argv: readonly string[], node: string): SshCommandLine {
  const result: SshCommandLine = { options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const flag = arg.slice(0, 2);
    const inline = arg.length > 2 ? arg.slice(2) : undefined;
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined)
        throw new HiveError("HIVE_SSH_CONFIG", `node ${node}: deployment.sshOptions ends with ${flag} and no value`);
      return v;
    };
    if (flag === "-o") addOption(result.options, value(), node);
    else if (flag === "-F") result.configFile = value();
    else if (WITH_VALUE[flag] !== undefined) addOption(result.options, `${WITH_VALUE[flag]}=${value()}`, node);
    else {
      throw new HiveError(
        "HIVE_SSH_CONFIG",
        `node ${node}: deployment.sshOptions has ${JSON.stringify(arg)}, which hive does not support`,
        {
          hint: "hive understands -o Key=Value, -i FILE, -p PORT, -J JUMP, -l USER and -F CONFIG; put anything else in your ssh_config",
        },
      );
    }
  }
  return result;
}
