import { existsSync, readFileSync } from "node:fs";
import { Socket } from "node:net";
import { Writable, type Duplex } from "node:stream";
import type {
  AuthHandlerMiddleware,
  AuthenticationType,
  Client,
  ClientChannel,
  ConnectConfig,
  ServerHostKeyAlgorithm,
} from "ssh2";
import { HiveError } from "@hive/core";
import { startProxyCommand, type ProxiedSocket } from "./proxy-command.js";
import { batchWrites } from "./write-batching.js";
import { limitInFlight, limitQueued } from "./in-flight-limit.js";
import {
  addKnownHost,
  checkHostKey,
  fingerprint,
  knownHostsName,
  knownKeyTypes,
  type HostKeyVerdict,
} from "./known-hosts.js";
import type { ResolvedHost } from "./ssh-config.js";

type AuthMethod = Parameters<AuthHandlerMiddleware>[2] extends (m: infer M) => void ? M : never;

/** A host for messages: user, the name it was given (and its address, when another) and port. */
export function describeHost(host: ResolvedHost): string {
  return `${host.user}@${host.alias}${host.alias === host.hostName ? "" : ` (${host.hostName})`}:${host.port}`;
}

/** The key type and blob of an SSH wire-format public key. */
function parseKeyBlob(blob: Buffer): { type: string } {
  const length = blob.readUInt32BE(0);
  return { type: blob.subarray(4, 4 + length).toString("latin1") };
}

type Ssh2 = typeof import("ssh2");
let ssh2Module: Promise<Ssh2> | undefined;

/**
 * ssh2, loaded when first wanted: loading it costs about 60 ms of CPU, which a run that connects
 * spends while the hive evaluates (preloadSsh2), and a run that never connects not at all.
 */
export function loadSsh2(): Promise<Ssh2> {
  ssh2Module ??= import("ssh2").then((m) => (m as { default?: Ssh2 }).default ?? m);
  return ssh2Module;
}

/** Starts loading ssh2 once what runs now is done (the hive's evaluation has been started by then). */
export function preloadSsh2(): void {
  setImmediate(() => void loadSsh2().catch(() => undefined));
}

function loadIdentities(
  ssh2: Ssh2,
  host: ResolvedHost,
): { keys: { path: string; key: Buffer }[]; encrypted: string[] } {
  const keys: { path: string; key: Buffer }[] = [];
  const encrypted: string[] = [];
  for (const path of host.identityFiles) {
    if (!existsSync(path)) continue;
    const key = readFileSync(path);
    const parsed = ssh2.utils.parseKey(key);
    // Encrypted keys need a passphrase hive cannot ask for: the agent is the way for those.
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) encrypted.push(path);
      continue;
    }
    keys.push({ path, key });
  }
  return { keys, encrypted };
}

/**
 * One SSH connection (through any jump hosts), checked against known_hosts, authenticated by the
 * agent and identity files. Channels are multiplexed over it.
 */
export class SshConnection {
  /** Commands running over it now. */
  private running = 0;
  /** End once the commands running now have ended (a reconnect that lets them finish). */
  private ending = false;
  /**
   * How near the host is: the least of the TCP handshake (when hive opened the socket itself) and
   * every command start so far (two round trips and sshd's fork). Load only ever adds to a sample,
   * so the least of several is the one to trust.
   */
  private nearestMs: number;

  private constructor(
    readonly host: ResolvedHost,
    private readonly client: Client,
    connectMs: number | undefined,
    private readonly jumps: SshConnection[],
    private readonly proxy?: ProxiedSocket,
  ) {
    this.nearestMs = connectMs ?? Infinity;
  }

  get description(): string {
    return describeHost(this.host);
  }

  static async open(
    host: ResolvedHost,
    options: { agent?: string | undefined; via?: SshConnection; signal?: AbortSignal } = {},
  ): Promise<SshConnection> {
    const jumps: SshConnection[] = [];
    let via = options.via;
    const signal = options.signal ? { signal: options.signal } : {};
    if (via === undefined) {
      for (const hop of host.proxyJump) {
        via = await SshConnection.open(hop, { agent: options.agent, ...(via ? { via } : {}), ...signal });
        jumps.push(via);
      }
    }
    let proxy: ProxiedSocket | undefined;
    try {
      if (via === undefined && host.proxyCommand !== undefined)
        proxy = await startProxyCommand(host.proxyCommand, describeHost(host));
      const sock = via === undefined ? proxy?.sock : await via.forward(host.hostName, host.port);
      const { client, connectMs } = await connectClient(host, options.agent, sock, options.signal).catch(
        async (error: unknown) => {
          throw await proxyFailure(host, proxy, error);
        },
      );
      return new SshConnection(host, client, connectMs, jumps, proxy);
    } catch (error) {
      proxy?.process.kill();
      for (const jump of jumps.reverse()) jump.end();
      throw error;
    }
  }

  private forward(hostName: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut("127.0.0.1", 0, hostName, port, (error, stream) => {
        if (error) {
          reject(
            new HiveError(
              "HIVE_SSH_CONNECT_FAILED",
              `jump host ${this.description} could not reach ${hostName}:${port}: ${error.message}`,
              { cause: error },
            ),
          );
        } else resolve(stream);
      });
    });
  }

  /**
   * Opens a command channel and hands it to `use` at once: its output, exit status and close may
   * arrive in the same read as the channel itself, so listeners must be attached synchronously.
   * `streamed`: its input is a stream (a push), whose data in flight is kept to what the host needs.
   */
  exec<T>(command: string, use: (channel: ClientChannel) => Promise<T>, streamed = false): Promise<T> {
    const asked = performance.now();
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => {
        if (error) {
          reject(
            new HiveError("HIVE_SSH_DISCONNECTED", `${this.description}: cannot start a command: ${error.message}`, {
              cause: error,
            }),
          );
        } else {
          this.running++;
          this.nearestMs = Math.min(this.nearestMs, performance.now() - asked);
          const software = (this.client as unknown as { _remoteVer?: string })._remoteVer;
          if (streamed) {
            limitInFlight(channel, software, this.nearestMs);
            limitQueued(channel);
          }
          use(channel)
            .finally(() => {
              this.running--;
              if (this.ending && this.running === 0) this.end();
            })
            .then(resolve, reject);
        }
      });
    });
  }

  /** Ends the connection once the commands running over it have ended (at once if none run). */
  endWhenIdle(): void {
    this.ending = true;
    if (this.running === 0) this.end();
  }

  onClose(listener: () => void): void {
    this.client.once("close", listener);
  }

  end(): void {
    this.client.end();
    this.proxy?.process.kill();
    for (const jump of this.jumps) jump.end();
  }
}

/** A connection through a ProxyCommand that failed: what the command said is the likely cause. */
async function proxyFailure(host: ResolvedHost, proxy: ProxiedSocket | undefined, error: unknown): Promise<unknown> {
  if (proxy === undefined || !(error instanceof HiveError) || error.code !== "HIVE_SSH_CONNECT_FAILED") return error;
  // Its last words may still be on their way when the connection fails.
  await proxy.ended(1000);
  const said = proxy.stderr();
  return new HiveError(
    "HIVE_SSH_CONNECT_FAILED",
    `${describeHost(host)}: cannot connect through ProxyCommand ${JSON.stringify(host.proxyCommand)}${said ? `: ${said}` : ""}`,
    { hint: "run the ProxyCommand by hand to see why it cannot reach the host", cause: error },
  );
}

/** ssh2's host key algorithms, by the key type known_hosts names them with. */
const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/** The host key algorithms to offer: those of the keys known for the host first, as OpenSSH orders them. */
function hostKeyAlgorithms(known: readonly string[]): ServerHostKeyAlgorithm[] {
  const all = Object.values(HOST_KEY_ALGORITHMS).flat();
  const first = known.flatMap((type) => HOST_KEY_ALGORITHMS[type] ?? []);
  return [...new Set([...first, ...all])];
}

async function connectClient(
  host: ResolvedHost,
  agent: string | undefined,
  sock: Duplex | undefined,
  signal: AbortSignal | undefined,
): Promise<{ client: Client; connectMs: number | undefined }> {
  const ssh2 = await loadSsh2();
  const client = new ssh2.Client();
  const { keys: identities, encrypted } = loadIdentities(ssh2, host);
  const useAgent = agent !== undefined && !host.identitiesOnly;
  let verdict: HostKeyVerdict | undefined;
  let presentedKey: Buffer | undefined;
  const lookupName = knownHostsName(host.hostKeyAlias ?? host.hostName, host.hostKeyAlias ? 22 : host.port);
  // The user's known hosts and the system's (NixOS's programs.ssh.knownHosts): both declare keys.
  const knownFiles = [...host.knownHostsFiles, ...host.globalKnownHostsFiles];
  const serverHostKey = hostKeyAlgorithms(knownKeyTypes(knownFiles, lookupName));

  const methods: AuthMethod[] = [
    ...(useAgent ? [{ type: "agent" as const, username: host.user, agent }] : []),
    ...identities.map((id) => ({ type: "publickey" as const, username: host.user, key: id.key })),
  ];
  const config: ConnectConfig = {
    host: host.hostName,
    port: host.port,
    username: host.user,
    readyTimeout: host.connectTimeoutMs,
    // ServerAliveInterval when set; else a probe every 15 s notices a dead link within a minute.
    keepaliveInterval: host.serverAliveIntervalMs || 15_000,
    keepaliveCountMax: host.serverAliveIntervalMs ? host.serverAliveCountMax : 4,
    ...(host.addressFamily === "inet"
      ? { forceIPv4: true }
      : host.addressFamily === "inet6"
        ? { forceIPv6: true }
        : {}),
    algorithms: {
      serverHostKey,
      ...(host.compression ? { compress: ["zlib@openssh.com", "zlib", "none"] } : {}),
    },
    ...(sock ? { sock } : {}),
    authHandler: (_left: AuthenticationType[] | null, _partial: boolean | null, next: (m: AuthMethod) => void) => {
      next(methods.shift() ?? (false as unknown as AuthMethod));
    },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      presentedKey = key;
      const { type } = parseKeyBlob(key);
      Promise.resolve()
        .then(() => checkHostKey(knownFiles, lookupName, type, key))
        .then(async (result) => {
          verdict = result;
          if (result.kind === "match" || host.strictHostKeyChecking === "no") return verify(true);
          // accept-new adds only a host nothing mentions (a CA's host too is checked, not added).
          if (
            result.kind === "unknown" &&
            result.certAuthority === undefined &&
            host.strictHostKeyChecking === "accept-new" &&
            host.knownHostsFiles[0] !== undefined
          ) {
            await addKnownHost(host.knownHostsFiles[0], lookupName, type, key);
            return verify(true);
          }
          verify(false);
        })
        .catch(() => verify(false));
    },
  };
  return new Promise((resolve, reject) => {
    // Stopped before the handshake ended (the run ends): the connection is given up at once.
    const stop = () => fail(new Error("stopped before the SSH handshake ended"));
    const fail = (error: Error & { level?: string }) => {
      signal?.removeEventListener("abort", stop);
      // ssh2 may report more errors as the failed connection winds down (a timeout, then the
      // lost socket): the first one is the cause, the rest must not crash hive.
      client.on("error", () => undefined);
      client.end();
      reject(
        connectError(host, error, verdict, presentedKey, { identities: identities.length, encrypted, agent: useAgent }),
      );
    };
    let connectMs: number | undefined;
    client.once("ready", () => {
      signal?.removeEventListener("abort", stop);
      client.removeListener("error", fail);
      client.on("error", () => undefined);
      resolve({ client, connectMs });
    });
    client.once("error", fail);
    // A connection that closes before the handshake ends (a ProxyCommand that exits) fails now,
    // not when the handshake times out.
    const closedEarly = () => fail(new Error("the connection closed during the SSH handshake"));
    client.once("close", closedEarly);
    client.once("ready", () => client.removeListener("close", closedEarly));
    if (signal?.aborted) return stop();
    signal?.addEventListener("abort", stop, { once: true });
    client.connect(config);
    // The handshake and every command are small request/response exchanges: Nagle's algorithm
    // with delayed ACKs would add tens of milliseconds to each (measured: 90 ms a command).
    client.setNoDelay(true);
    // ssh2 keeps the stream it writes to (its own TCP socket, or `sock`) in _sock; without it
    // (another ssh2), writes are just not batched.
    const stream = (client as unknown as { _sock?: unknown })._sock;
    if (stream instanceof Writable) batchWrites(stream);
    // The TCP handshake's time, from after the name is resolved: one sample of how near the host is.
    if (sock === undefined && stream instanceof Socket) {
      let start = performance.now();
      stream.once("lookup", () => (start = performance.now()));
      stream.once("connect", () => (connectMs = performance.now() - start));
    }
  });
}

function connectError(
  host: ResolvedHost,
  error: Error & { level?: string },
  verdict: HostKeyVerdict | undefined,
  key: Buffer | undefined,
  tried: { identities: number; encrypted: readonly string[]; agent: boolean },
): HiveError {
  const where = describeHost(host);
  if (verdict?.kind === "mismatch" && key) {
    return new HiveError(
      "HIVE_SSH_HOST_KEY_MISMATCH",
      `${where}: the host key changed: it presented ${parseKeyBlob(key).type} ${fingerprint(key)}, but ${verdict.file}:${verdict.line} declares ${verdict.known.join(", ")}${verdict.otherType ? " (no key of the presented type)" : ""}`,
      {
        hint: "if the host was reinstalled, remove the old entry (ssh-keygen -R); otherwise someone may be intercepting the connection",
        cause: error,
      },
    );
  }
  if (verdict?.kind === "revoked")
    return new HiveError(
      "HIVE_SSH_HOST_KEY_MISMATCH",
      `${where}: the host key${key ? ` ${fingerprint(key)}` : ""} is revoked (@revoked at ${verdict.file}:${verdict.line})`,
      { cause: error },
    );
  if (verdict?.kind === "unknown" && verdict.certAuthority !== undefined && key) {
    const { file, line } = verdict.certAuthority;
    return new HiveError(
      "HIVE_SSH_HOST_KEY_UNKNOWN",
      `${where}: host key ${fingerprint(key)} is not listed, and the @cert-authority at ${file}:${line} that covers the host cannot be checked: hive's SSH does not verify host certificates`,
      {
        hint: "list the host's own key in known_hosts (ssh-keyscan), as well as its CA",
        cause: error,
      },
    );
  }
  if (verdict?.kind === "unknown" && key) {
    return new HiveError(
      "HIVE_SSH_HOST_KEY_UNKNOWN",
      `${where}: host key ${fingerprint(key)} is not in ${[...host.knownHostsFiles, ...host.globalKnownHostsFiles].join(" or ")}`,
      {
        hint: "StrictHostKeyChecking is yes: add the host's key to known_hosts (ssh-keyscan), or use accept-new",
        cause: error,
      },
    );
  }
  if (error.level === "client-authentication") {
    const skipped =
      tried.encrypted.length > 0
        ? `; skipped ${tried.encrypted.join(", ")}: encrypted, and hive cannot ask for a passphrase`
        : "";
    return new HiveError(
      "HIVE_SSH_AUTH_FAILED",
      `${where}: authentication failed (tried ${tried.agent ? "the agent and " : ""}${tried.identities} identity file(s)${skipped})`,
      {
        hint:
          tried.encrypted.length > 0
            ? `add the key to your agent: ssh-add ${tried.encrypted[0] ?? ""} (with SSH_AUTH_SOCK set for hive)`
            : "check the user, that your key is in the host's authorized_keys, and IdentityFile / SSH_AUTH_SOCK",
        cause: error,
      },
    );
  }
  return new HiveError("HIVE_SSH_CONNECT_FAILED", `${where}: cannot connect: ${error.message}`, {
    hint: "is the host up and sshd listening? check HostName/Port in your ssh_config",
    cause: error,
  });
}
