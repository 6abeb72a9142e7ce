import { existsSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import SSHConfig from "ssh-config";
import { HiveError } from "@hive/core";
import { configFileArgs, configText, needsOpenSsh, openSshSettings } from "./openssh-settings.js";
import { unhonouredSettings } from "./unhonoured-settings.js";
import { parseSshOptions } from "./ssh-options.js";

export type StrictHostKeyChecking = "yes" | "no" | "accept-new";

/** Everything needed to open one SSH connection, resolved as OpenSSH would. */
export interface ResolvedHost {
  /** The name the user gave (node target or alias), for messages. */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  knownHostsFiles: string[];
  /** GlobalKnownHostsFile (where NixOS's programs.ssh.knownHosts writes): checked, never written. */
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hostKeyAlias: string | undefined;
  connectTimeoutMs: number;
  /** AddressFamily: which addresses of hostName to try. */
  addressFamily: "any" | "inet" | "inet6";
  /** Compression: zlib on the wire. */
  compression: boolean;
  /** ServerAliveInterval (0: hive's own default) and ServerAliveCountMax. */
  serverAliveIntervalMs: number;
  serverAliveCountMax: number;
  /** deployment.sshOptions that hive does not act on, each naming the flag and why. */
  ignoredOptions: string[];
  /** ssh_config settings for this host that hive's ssh2 does not act on, each with why. */
  ignoredConfig: string[];
  /** Why only OpenSSH can reach this host as configured (a certificate, a FIDO key, ...), if so. */
  needsOpenSsh: string | undefined;
  /** Hosts to hop through, outermost first. */
  proxyJump: ResolvedHost[];
  /** ProxyCommand, its tokens expanded: run by `sh -c`, its stdin and stdout are the connection. */
  proxyCommand: string | undefined;
}

export interface SshTarget {
  host: string;
  port: number | null;
  /** null: let ssh_config (or the local user name) decide, as Colmena's targetUser = null. */
  user: string | null;
  sshOptions: readonly string[];
  node: string;
}

export interface ConfigSources {
  /** The user's config: SSH_CONFIG_FILE, else ~/.ssh/config. */
  userConfig?: string;
  systemConfig?: string;
  home?: string;
}

/** Parsed configs by their text: a run resolves every host against the same files. */
const parsedConfigs = new Map<string, SSHConfig>();

function parseConfig(path: string, text: string): SSHConfig {
  const cached = parsedConfigs.get(text);
  if (cached !== undefined) return cached;
  try {
    const parsed = SSHConfig.parse(text);
    parsedConfigs.set(text, parsed);
    return parsed;
  } catch (error) {
    throw new HiveError("HIVE_SSH_CONFIG", `cannot read ssh config ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(/\s+/)).filter((x) => x !== "");
}

/** OpenSSH's % tokens: %d home, %h host name, %n alias, %p port, %r remote user, %u local user, %%. */
function tokens(text: string, home: string, host: { hostName: string; user: string; port: number; alias: string }) {
  return text.replace(/%(.)/g, (whole, c: string) => {
    switch (c) {
      case "d":
        return home;
      case "h":
        return host.hostName;
      case "n":
        return host.alias;
      case "p":
        return String(host.port);
      case "r":
        return host.user;
      case "u":
        return userInfo().username;
      case "%":
        return "%";
      default:
        return whole;
    }
  });
}

function expand(
  path: string,
  home: string,
  host: { hostName: string; user: string; port: number; alias: string },
): string {
  const expanded = tokens(path.replace(/^~(?=\/|$)/, home), home, host);
  return isAbsolute(expanded) ? expanded : join(home, ".ssh", expanded);
}

function strictness(raw: string | undefined, node: string): StrictHostKeyChecking {
  const value = (raw ?? "accept-new").toLowerCase();
  if (value === "yes" || value === "ask" || value === "true") return "yes";
  if (value === "no" || value === "off" || value === "false") return "no";
  if (value === "accept-new") return "accept-new";
  throw new HiveError(
    "HIVE_SSH_CONFIG",
    `node ${node}: StrictHostKeyChecking ${JSON.stringify(raw)} is not yes, no or accept-new`,
  );
}

const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"];

/** An identity ssh2 cannot use: an OpenSSH user certificate beside it, or a FIDO (sk-) key. */
function keyNeedingOpenSsh(identityFiles: readonly string[]): string | undefined {
  for (const file of identityFiles) {
    if (existsSync(`${file}-cert.pub`)) return `a user certificate (${file}-cert.pub)`;
    if (existsSync(`${file}.pub`) && readFileSync(`${file}.pub`, "utf8").startsWith("sk-"))
      return `a FIDO key (${file})`;
  }
  return undefined;
}

/**
 * Resolves a node's target as OpenSSH does: command-line options (deployment.sshOptions, then
 * targetPort/targetUser) win over the user's ssh_config, which wins over the system one; the first
 * value found for a setting is kept. Host keys default to accept-new, as Colmena.
 */
export function resolveSshTarget(target: SshTarget, sources: ConfigSources = defaultConfigSources()): ResolvedHost {
  const commandLine = parseSshOptions(target.sshOptions, target.node);
  const home = sources.home ?? homedir();
  const files =
    commandLine.configFile !== undefined
      ? [expand(commandLine.configFile, home, { hostName: target.host, user: "", port: 22, alias: target.host })]
      : [sources.userConfig, sources.systemConfig];
  // Each file is read once per resolution.
  const texts = files.map(configText);
  // Include and Match are OpenSSH's to interpret: then `ssh -G` resolves the host, as ssh would.
  // Relative Include paths: ~/.ssh for the user's config (or -F's), /etc/ssh for the system's.
  const bases = [join(home, ".ssh"), "/etc/ssh"];
  const resolvedByOpenSsh = needsOpenSsh(
    texts.map((text, i) => ({ text, base: bases[i] ?? "/etc/ssh" })),
    home,
  )
    ? openSshSettings(
        target.host,
        [
          ...(commandLine.configFile === undefined ? configFileArgs(sources.userConfig, home) : []),
          ...target.sshOptions,
          ...(target.port !== null ? ["-p", String(target.port)] : []),
          ...(target.user !== null ? ["-l", target.user] : []),
        ],
        home,
        texts,
      )
    : undefined;
  const computed: Record<string, string | string[] | undefined>[] =
    resolvedByOpenSsh !== undefined
      ? [resolvedByOpenSsh]
      : files.map((file, i) =>
          file !== undefined && existsSync(file)
            ? (parseConfig(file, texts[i] ?? "").compute(target.host) as Record<string, string | string[] | undefined>)
            : {},
        );
  const lookup = (key: string): string[] => {
    const fromCommandLine = commandLine.options.get(key.toLowerCase());
    if (fromCommandLine) return fromCommandLine;
    for (const settings of computed) {
      const entry = Object.entries(settings).find(([k]) => k.toLowerCase() === key.toLowerCase());
      if (entry?.[1] !== undefined) return values(entry[1]);
    }
    return [];
  };
  const first = (key: string) => lookup(key)[0];
  // A setting whose value is a command line (ProxyCommand): kept whole, spaces and quotes and all.
  const whole = (key: string): string | undefined => {
    const fromCommandLine = commandLine.options.get(key.toLowerCase());
    if (fromCommandLine) return fromCommandLine.join(" ");
    for (const settings of computed) {
      const entry = Object.entries(settings).find(([k]) => k.toLowerCase() === key.toLowerCase());
      if (entry?.[1] !== undefined) return Array.isArray(entry[1]) ? entry[1].join(" ") : entry[1];
    }
    return undefined;
  };

  const hostName = first("HostName")?.replace(/%h/g, target.host) ?? target.host;
  const portText =
    target.port !== null ? String(target.port) : (commandLine.options.get("port")?.[0] ?? first("Port") ?? "22");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new HiveError("HIVE_SSH_CONFIG", `node ${target.node}: port ${JSON.stringify(portText)} is not a TCP port`);
  const user = target.user ?? commandLine.options.get("user")?.[0] ?? first("User") ?? userInfo().username;
  const hostInfo = { hostName, user, port, alias: target.host };

  const configured = [
    ...(commandLine.options.get("identityfile") ?? []),
    ...computed.flatMap((c) => values(c["IdentityFile"] ?? c["identityfile"])),
  ];
  const identityFiles = (configured.length > 0 ? configured : DEFAULT_IDENTITIES.map((f) => `~/.ssh/${f}`)).map((f) =>
    expand(f, home, hostInfo),
  );
  const knownHosts = lookup("UserKnownHostsFile");
  const knownHostsFiles = (knownHosts.length > 0 ? knownHosts : ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"])
    .filter((f) => f !== "/dev/null" || knownHosts.length === 1)
    .map((f) => expand(f, home, hostInfo));
  const globalKnown = lookup("GlobalKnownHostsFile");
  const globalKnownHostsFiles = (
    globalKnown.length > 0 ? globalKnown : ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
  )
    .filter((f) => f !== "/dev/null")
    .map((f) => expand(f, home, hostInfo));
  const timeout = Number(first("ConnectTimeout") ?? "15");

  const jump = first("ProxyJump");
  const proxyJump =
    jump === undefined || jump.toLowerCase() === "none"
      ? []
      : jump.split(",").map((hop) => {
          const m = /^(?:([^@]+)@)?([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(hop.trim());
          if (!m?.[2])
            throw new HiveError(
              "HIVE_SSH_CONFIG",
              `node ${target.node}: ProxyJump ${JSON.stringify(hop)} is not [user@]host[:port]`,
            );
          return resolveSshTarget(
            {
              host: m[2].replace(/^\[|\]$/g, ""),
              port: m[3] ? Number(m[3]) : null,
              user: m[1] ?? null,
              sshOptions: [],
              node: target.node,
            },
            sources,
          );
        });

  // ProxyJump wins where both are set (OpenSSH takes the first it reads; hive cannot tell).
  const command = whole("ProxyCommand");
  const proxyCommand =
    proxyJump.length > 0 || command === undefined || command.toLowerCase() === "none"
      ? undefined
      : tokens(command, home, hostInfo);
  const unhonoured = unhonouredSettings(computed);
  const family = (first("AddressFamily") ?? "any").toLowerCase();
  const aliveInterval = Number(first("ServerAliveInterval") ?? "0");
  const aliveCount = Number(first("ServerAliveCountMax") ?? "3");
  return {
    alias: target.host,
    hostName,
    port,
    user,
    identityFiles,
    identitiesOnly: (first("IdentitiesOnly") ?? "no").toLowerCase() === "yes",
    knownHostsFiles,
    globalKnownHostsFiles,
    strictHostKeyChecking: strictness(first("StrictHostKeyChecking"), target.node),
    hostKeyAlias: first("HostKeyAlias"),
    connectTimeoutMs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 15) * 1000,
    addressFamily: family === "inet" || family === "inet6" ? family : "any",
    compression: (first("Compression") ?? "no").toLowerCase() === "yes",
    serverAliveIntervalMs: Number.isFinite(aliveInterval) && aliveInterval > 0 ? aliveInterval * 1000 : 0,
    serverAliveCountMax: Number.isInteger(aliveCount) && aliveCount > 0 ? aliveCount : 3,
    ignoredOptions: commandLine.ignored,
    ignoredConfig: unhonoured.map((u) => u.text),
    needsOpenSsh: unhonoured.find((u) => u.openssh)?.text ?? keyNeedingOpenSsh(identityFiles),
    proxyJump: proxyJump.flatMap((hop) => [...hop.proxyJump, { ...hop, proxyJump: [] }]),
    proxyCommand,
  };
}

export function defaultConfigSources(env: NodeJS.ProcessEnv = process.env): ConfigSources {
  const home = homedir();
  return {
    userConfig: env["SSH_CONFIG_FILE"] ?? join(home, ".ssh", "config"),
    systemConfig: "/etc/ssh/ssh_config",
    home,
  };
}
