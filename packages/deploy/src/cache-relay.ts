import PQueue from "p-queue";
import { HiveError, isHiveError, type DeployEvent, type StorePath } from "@hive/core";
import { copyToStore } from "@hive/nix";
import type { Host } from "./host.js";

/** `--via-cache`: the operator's binary cache, as hive pushes to it and as hosts substitute from it. */
export interface CacheSettings {
  /** Where this machine pushes (`nix copy --to`): a store URL, which may sign (`?secret-key=FILE`). */
  pushUrl: string;
  /** Where hosts substitute from. */
  substituter: string;
  /** The cache's public key (`name:base64`): a host that does not trust it is pushed direct. */
  publicKey: string;
}

/**
 * Prints the host's trusted-public-keys, one per line, from its Nix's own settings (nix.conf,
 * NIX_CONFIG, defaults), whichever command its Nix knows.
 */
const TRUSTED_KEYS = `
{ nix --extra-experimental-features nix-command config show 2> /dev/null || nix --extra-experimental-features nix-command show-config; } |
  sed -n 's/^trusted-public-keys = //p' | tr ' ' '\\n'
`;

/**
 * Push once through the operator's cache: each new system goes up to the cache from here (one
 * upload at a time, so a path shared by many systems crosses once), and each host substitutes it
 * from there as Nix does, but only a host that trusts the cache's key; the others are pushed direct,
 * and say why. Anything the cache could not give is pushed direct afterwards.
 */
export class CacheRelay {
  private readonly uploads = new Map<string, Promise<void>>();
  private readonly queue = new PQueue({ concurrency: 1 });

  constructor(
    readonly settings: CacheSettings,
    private readonly onEvent: (event: DeployEvent) => void,
  ) {}

  private upload(system: StorePath, signal: AbortSignal | undefined): Promise<void> {
    let upload = this.uploads.get(system);
    if (upload === undefined) {
      upload = this.queue.add(() => copyToStore(this.settings.pushUrl, [system], signal ? { signal } : {}));
      this.uploads.set(system, upload);
    }
    return upload;
  }

  /** Why the host cannot use the cache (it does not trust its key), or undefined when it can. */
  private async distrust(host: Host): Promise<string | undefined> {
    const result = await host.exec(["sh", "-c", TRUSTED_KEYS, "hive-trust"], { privileged: true });
    const trusted = result.stdout.split("\n").map((k) => k.trim());
    if (trusted.includes(this.settings.publicKey)) return undefined;
    const name = this.settings.publicKey.split(":")[0] ?? "";
    return result.exitCode !== 0 && trusted.every((k) => k === "")
      ? `its Nix did not say which keys it trusts (${result.stderr.trim().split("\n").pop() ?? "no output"})`
      : `it does not trust the cache's key ${name} (trusted-public-keys in its nix.conf)`;
  }

  /**
   * Before a node's direct push: the system goes up to the cache (once), and the host substitutes
   * it from there. Never fails the node for the cache's sake: a warning, then the direct push.
   */
  async fill(host: Host, system: StorePath): Promise<void> {
    const node = host.node;
    try {
      const why = await this.distrust(host);
      if (why !== undefined) {
        this.onEvent({ type: "warning", node, message: `--via-cache: pushing direct: ${why}` });
        return;
      }
      await this.upload(system, host.signal);
      const started = Date.now();
      await host.run(
        "push",
        ["nix-store", "--realise", system, "--option", "extra-substituters", this.settings.substituter],
        { privileged: true },
      );
      this.onEvent({
        type: "log",
        node,
        step: "push",
        line: `substituted from ${this.settings.substituter} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      });
    } catch (error) {
      if (host.signal?.aborted) throw error;
      const message = isHiveError(error) ? error.message : String(error);
      this.onEvent({
        type: "warning",
        node,
        message: `--via-cache: the cache did not serve the system, pushing direct: ${message}`,
      });
    }
  }
}

/**
 * The public key of a Nix signing key (`name:base64` of libsodium's 64-byte secret, whose second
 * half is the public key), for `--via-cache URL?secret-key=FILE` without a separate public key.
 */
export function publicKeyOf(secretKey: string): string {
  const at = secretKey.indexOf(":");
  const bytes = Buffer.from(secretKey.slice(at + 1).trim(), "base64");
  if (at <= 0 || bytes.length !== 64)
    throw new HiveError(
      "HIVE_USAGE",
      "the cache's secret-key file is not a Nix signing key (name:base64 of 64 bytes)",
      {
        hint: "nix-store --generate-binary-cache-key NAME secret.key public.key makes one",
      },
    );
  return `${secretKey.slice(0, at)}:${bytes.subarray(32).toString("base64")}`;
}
