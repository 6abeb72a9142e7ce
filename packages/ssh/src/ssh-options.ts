import { HiveError } from "@hive/core";

/** What `deployment.sshOptions` (ssh(1) arguments) ask for. */
export interface SshCommandLine {
  configFile?: string;
  /** `-o Key=Value` settings, keys lower-cased; they win over ssh_config, as in OpenSSH. */
  options: Map<string, string[]>;
  /** Flags and settings given that hive does not act on, each naming the flag and why. */
  ignored: string[];
}

/** ssh(1) flags that take a value, and the ssh_config keyword each sets (if any). */
const WITH_VALUE: Record<string, string | null> = {
  B: "bindinterface",
  b: "bindaddress",
  c: "ciphers",
  D: "dynamicforward",
  E: "logfile",
  e: "escapechar",
  F: null,
  I: "pkcs11provider",
  i: "identityfile",
  J: "proxyjump",
  L: "localforward",
  l: "user",
  m: "macs",
  O: null,
  o: null,
  P: "tag",
  p: "port",
  Q: null,
  R: "remoteforward",
  S: "controlpath",
  W: null,
  w: "tunnel",
};

/** Flags without a value that say what hive does anyway (no tty, no forwarding, quiet): honoured. */
const ALREADY_SO: Record<string, string> = {
  T: "requesttty=no",
  n: "",
  N: "",
  x: "forwardx11=no",
  a: "forwardagent=no",
  k: "gssapidelegatecredentials=no",
  q: "loglevel=quiet",
};

/** Flags without a value that set an ssh_config keyword hive acts on. */
const HONOURED: Record<string, string> = {
  "4": "addressfamily=inet",
  "6": "addressfamily=inet6",
  C: "compression=yes",
};

/** Flags without a value that hive cannot honour, and why. */
const NO_EFFECT: Record<string, string> = {
  A: "hive never forwards the agent to a target",
  f: "hive runs each command in its own session",
  G: "hive resolves the configuration itself",
  g: "hive opens no forwarded ports",
  K: "hive does not use GSSAPI",
  M: "hive keeps its own connection per host and shares no control socket",
  s: "hive runs commands, not subsystems",
  t: "hive's commands need no terminal",
  V: "hive does not print ssh's version",
  v: "hive has no ssh debug output (hive -v prints build and activation logs)",
  X: "hive forwards no X11",
  Y: "hive forwards no X11",
  y: "hive does not log through syslog",
};

/** ssh_config keywords (lower case) hive acts on when they come from -o or a flag. */
export const HONOURED_KEYWORDS = new Set([
  "hostname",
  "port",
  "user",
  "identityfile",
  "identitiesonly",
  "userknownhostsfile",
  "globalknownhostsfile",
  "stricthostkeychecking",
  "hostkeyalias",
  "connecttimeout",
  "proxyjump",
  "proxycommand",
  "compression",
  "addressfamily",
  "serveraliveinterval",
  "serveralivecountmax",
  // What hive does anyway.
  "requesttty",
  "forwardx11",
  "forwardagent",
  "gssapidelegatecredentials",
  "loglevel",
  "batchmode",
]);

function addOption(result: SshCommandLine, raw: string, node: string, flag: string): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/.exec(raw);
  if (!match?.[1] || match[2] === undefined || match[2] === "") {
    throw new HiveError(
      "HIVE_SSH_CONFIG",
      `node ${node}: deployment.sshOptions has -o ${JSON.stringify(raw)}, which is not Key=Value`,
    );
  }
  const key = match[1].toLowerCase();
  if (key === "forwardagent" && /^(yes|true)$/i.test(match[2])) result.ignored.push(`${flag}: ${NO_EFFECT["A"] ?? ""}`);
  else if (!HONOURED_KEYWORDS.has(key)) result.ignored.push(`${flag}: hive does not use ${match[1]}`);
  result.options.set(key, [...(result.options.get(key) ?? []), match[2]]);
}

/**
 * Parses `deployment.sshOptions` as ssh(1) parses its command line: every flag ssh knows is
 * accepted, bundled or not (`-4C`, `-vvv`, `-p2222`). Those hive acts on become settings; the rest
 * are listed in `ignored` with why, for a warning. Only what ssh itself would refuse is an error.
 */
export function parseSshOptions(argv: readonly string[], node: string): SshCommandLine {
  const result: SshCommandLine = { options: new Map(), ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!/^-[^-]/.test(arg))
      throw new HiveError(
        "HIVE_SSH_CONFIG",
        `node ${node}: deployment.sshOptions has ${JSON.stringify(arg)}, which is not an ssh(1) option`,
        { hint: 'sshOptions are ssh\'s options only (e.g. [ "-o" "Port=2222" ]); the host is deployment.targetHost' },
      );
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] ?? "";
      const flag = `-${letter}`;
      if (letter in WITH_VALUE) {
        const rest = arg.slice(j + 1);
        const value = rest !== "" ? rest : argv[++i];
        if (value === undefined)
          throw new HiveError("HIVE_SSH_CONFIG", `node ${node}: deployment.sshOptions ends with ${flag} and no value`);
        const keyword = WITH_VALUE[letter];
        if (letter === "o") addOption(result, value, node, `-o ${value}`);
        else if (letter === "F") result.configFile = value;
        else if (keyword !== null && keyword !== undefined) addOption(result, `${keyword}=${value}`, node, flag);
        else result.ignored.push(`${flag} ${value}: hive has no use for it`);
        break;
      }
      const setting = HONOURED[letter] ?? ALREADY_SO[letter];
      if (setting !== undefined) {
        if (setting !== "") addOption(result, setting, node, flag);
      } else if (NO_EFFECT[letter] !== undefined) result.ignored.push(`${flag}: ${NO_EFFECT[letter]}`);
      else
        throw new HiveError(
          "HIVE_SSH_CONFIG",
          `node ${node}: deployment.sshOptions has ${flag}, which ssh(1) does not know`,
          {
            hint: "see ssh(1) for its options; -o Key=Value takes any ssh_config setting",
          },
        );
    }
  }
  result.ignored = [...new Set(result.ignored)];
  return result;
}
