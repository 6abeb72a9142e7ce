import { createHash, createHmac } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import matchHostPattern from "./host-pattern.js";

export type HostKeyVerdict =
  | { kind: "match" }
  | { kind: "unknown" }
  | { kind: "revoked" }
  | { kind: "mismatch"; known: string[]; file: string; line: number };

/** SHA256:base64 fingerprint of a public key blob, as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The names a host is looked up by in known_hosts: `name`, or `[name]:port` off port 22. */
export function knownHostsName(name: string, port: number): string {
  return port === 22 ? name : `[${name}]:${port}`;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (salt === undefined || hash === undefined) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (matchHostPattern(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Checks a host's key against known_hosts files (plain, hashed and `[host]:port` entries,
 * wildcards, @revoked). A known host whose key type is not listed is unknown, as in OpenSSH;
 * a listed key type with another key is a mismatch.
 */
export async function checkHostKey(
  files: readonly string[],
  name: string,
  keyType: string,
  keyBlob: Buffer,
): Promise<HostKeyVerdict> {
  const key = keyBlob.toString("base64");
  let mismatch: HostKeyVerdict | undefined;
  let matched = false;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    const lines = text.split("\n");
    for (const [index, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const fields = line.split(/\s+/);
      const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
      const [hosts, type, blob] = fields;
      if (hosts === undefined || type === undefined || blob === undefined) continue;
      if (marker === "@cert-authority" || !hostFieldMatches(hosts, name)) continue;
      if (marker === "@revoked") {
        if (blob === key) return { kind: "revoked" };
        continue;
      }
      if (type !== keyType) continue;
      if (blob === key) matched = true;
      else mismatch ??= { kind: "mismatch", known: [fingerprint(Buffer.from(blob, "base64"))], file, line: index + 1 };
    }
  }
  if (matched) return { kind: "match" };
  return mismatch ?? { kind: "unknown" };
}

/** Records a new host key (accept-new), in the first known_hosts file. */
export async function addKnownHost(file: string, name: string, keyType: string, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${name} ${keyType} ${keyBlob.toString("base64")}\n`, { mode: 0o600 });
}
