import { createHash, createHmac } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { knownHostsName } from "@hive/core";
import matchHostPattern from "./host-pattern.js";

/** Where a known-hosts line is. */
export interface KnownHostsLine {
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { kind: "match" }
  /** Nothing mentions the host; `certAuthority`: a @cert-authority line covers it (not checkable by ssh2). */
  | { kind: "unknown"; certAuthority?: KnownHostsLine }
  | ({ kind: "revoked" } & KnownHostsLine)
  /** The host is declared with other keys (of this type, or only of other types): never accepted. */
  | ({ kind: "mismatch"; known: string[]; otherType: boolean } & KnownHostsLine);

/** SHA256:base64 fingerprint of a public key blob, as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The names a host is looked up by in known_hosts: `name`, or `[name]:port` off port 22. */
export { knownHostsName };

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

interface Entry extends KnownHostsLine {
  marker: string | undefined;
  type: string;
  blob: string;
}

interface ParsedLine extends Entry {
  hosts: string;
}

/** Each file's lines, parsed once while the file stays as it was (size and mtime): not once per host. */
const parsedFiles = new Map<string, { mtimeMs: number; size: number; lines: ParsedLine[] }>();

function parseLines(text: string, file: string): ParsedLine[] {
  const lines: ParsedLine[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [hosts, type, blob] = fields;
    if (hosts === undefined || type === undefined || blob === undefined) continue;
    lines.push({ marker, hosts, type, blob, file, line: index + 1 });
  }
  return lines;
}

/** The lines of one file that name the host (plain, hashed, `[host]:port`, wildcards, negation). */
function linesNaming(file: string, name: string): Entry[] {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return [];
  }
  let cached = parsedFiles.get(file);
  if (cached === undefined || cached.mtimeMs !== stats.mtimeMs || cached.size !== stats.size) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return [];
    }
    cached = { mtimeMs: stats.mtimeMs, size: stats.size, lines: parseLines(text, file) };
    parsedFiles.set(file, cached);
  }
  return cached.lines
    .filter((l) => hostFieldMatches(l.hosts, name))
    .map(({ marker, type, blob, line }) => ({ marker, type, blob, file, line }));
}

/** Every line of the files that names the host. */
function entriesFor(files: readonly string[], name: string): Entry[] {
  return files.flatMap((file) => linesNaming(file, name));
}

/** The @cert-authority line that covers a host, if any: its key is then a certificate only OpenSSH checks. */
export function certAuthorityFor(files: readonly string[], name: string): KnownHostsLine | undefined {
  const ca = entriesFor(files, name).find((e) => e.marker === "@cert-authority");
  return ca !== undefined ? { file: ca.file, line: ca.line } : undefined;
}

/** The key types the files declare for a host: the ones to ask the host for first, as OpenSSH does. */
export function knownKeyTypes(files: readonly string[], name: string): string[] {
  const entries = entriesFor(files, name);
  return [...new Set(entries.filter((e) => e.marker === undefined).map((e) => e.type))];
}

/**
 * Checks a host's key against known-hosts files, the user's and the system's alike (plain,
 * hashed and `[host]:port` entries, wildcards, @revoked). A key no declared key matches is a
 * mismatch, whatever its type: only a host nothing mentions is unknown (so accept-new adds it).
 */
export function checkHostKey(files: readonly string[], name: string, keyType: string, keyBlob: Buffer): HostKeyVerdict {
  const key = keyBlob.toString("base64");
  const entries = entriesFor(files, name);
  const revoked = entries.find((e) => e.marker === "@revoked" && e.blob === key);
  if (revoked !== undefined) return { kind: "revoked", file: revoked.file, line: revoked.line };
  const declared = entries.filter((e) => e.marker === undefined);
  if (declared.some((e) => e.type === keyType && e.blob === key)) return { kind: "match" };
  const sameType = declared.filter((e) => e.type === keyType);
  const shown = sameType.length > 0 ? sameType : declared;
  const [first] = shown;
  if (first !== undefined)
    return {
      kind: "mismatch",
      known: shown.map((e) => `${e.type} ${fingerprint(Buffer.from(e.blob, "base64"))}`),
      otherType: sameType.length === 0,
      file: first.file,
      line: first.line,
    };
  const ca = entries.find((e) => e.marker === "@cert-authority");
  return ca === undefined ? { kind: "unknown" } : { kind: "unknown", certAuthority: { file: ca.file, line: ca.line } };
}

/** Records a new host key (accept-new), in the first known_hosts file. */
export async function addKnownHost(file: string, name: string, keyType: string, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${name} ${keyType} ${keyBlob.toString("base64")}\n`, { mode: 0o600 });
}
