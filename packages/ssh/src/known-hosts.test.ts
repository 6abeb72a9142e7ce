import { createHmac, randomBytes } from "node:crypto";
import { appendFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkHostKey, knownHostsName, knownKeyTypes } from "./known-hosts.js";

const keyA = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "base64");
const keyB = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "base64");
const line = (hosts: string, key: Buffer, type = "ssh-ed25519") => `${hosts} ${type} ${key.toString("base64")}`;

async function file(lines: string[]): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "hive-known-")), "known_hosts");
  await writeFile(path, `# comment\n\n${lines.join("\n")}\n`);
  return path;
}

describe("checkHostKey", () => {
  it("matches plain, wildcard and [host]:port entries", async () => {
    const f = await file([line("web-1,10.0.0.1", keyA), line("*.example.net", keyA), line("[10.0.0.9]:2222", keyA)]);
    expect(checkHostKey([f], "10.0.0.1", "ssh-ed25519", keyA)).toEqual({ kind: "match" });
    expect(checkHostKey([f], "db.example.net", "ssh-ed25519", keyA)).toEqual({ kind: "match" });
    expect(checkHostKey([f], knownHostsName("10.0.0.9", 2222), "ssh-ed25519", keyA)).toEqual({ kind: "match" });
    expect(checkHostKey([f], knownHostsName("10.0.0.9", 22), "ssh-ed25519", keyA)).toEqual({ kind: "unknown" });
  });

  it("matches hashed entries", async () => {
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update("[127.0.0.1]:2201").digest("base64");
    const f = await file([line(`|1|${salt.toString("base64")}|${hash}`, keyA)]);
    expect(checkHostKey([f], "[127.0.0.1]:2201", "ssh-ed25519", keyA)).toEqual({ kind: "match" });
    expect(checkHostKey([f], "[127.0.0.1]:2202", "ssh-ed25519", keyA)).toEqual({ kind: "unknown" });
  });

  it("reports a changed key with where the old one is, and honours negation and @revoked", async () => {
    const f = await file([line("web-1", keyA), line("*,!web-2", keyB, "ssh-rsa"), `@revoked ${line("web-3", keyB)}`]);
    const verdict = checkHostKey([f], "web-1", "ssh-ed25519", keyB);
    expect(verdict).toMatchObject({ kind: "mismatch", file: f, line: 3 });
    expect(checkHostKey([f], "web-2", "ssh-rsa", keyA)).toEqual({ kind: "unknown" });
    expect(checkHostKey([f], "web-3", "ssh-ed25519", keyB)).toEqual({ kind: "revoked", file: f, line: 5 });
    // A host declared with keys of other types only is refused too: accept-new adds only hosts
    // nothing mentions.
    expect(checkHostKey([f], "web-1", "ecdsa-sha2-nistp256", keyB)).toMatchObject({
      kind: "mismatch",
      otherType: true,
      line: 3,
    });
  });

  it("reads several files (the user's and the system's), and names a CA it cannot check", async () => {
    const user = await file([line("web-9", keyA)]);
    const system = await file([line("db-1", keyA), `@cert-authority *.example.net ${line("", keyB).trim()}`]);
    expect(checkHostKey([user, system], "db-1", "ssh-ed25519", keyA)).toEqual({ kind: "match" });
    expect(checkHostKey([user, system], "db-1", "ssh-ed25519", keyB)).toMatchObject({
      kind: "mismatch",
      file: system,
    });
    expect(checkHostKey([user, system], "app.example.net", "ssh-ed25519", keyA)).toEqual({
      kind: "unknown",
      certAuthority: { file: system, line: 4 },
    });
    expect(knownKeyTypes([user, system], "db-1")).toEqual(["ssh-ed25519"]);
  });

  it("sees a line added to a file it has read before (each file is parsed once while it stays the same)", async () => {
    const f = await file([line("web-1", keyA)]);
    expect(checkHostKey([f], "web-2", "ssh-ed25519", keyB)).toEqual({ kind: "unknown" });
    await appendFile(f, `${line("web-2", keyB)}\n`);
    expect(checkHostKey([f], "web-2", "ssh-ed25519", keyB)).toEqual({ kind: "match" });
    await writeFile(f, `${line("web-2", keyA)}\n${line("web-1", keyA)}\n`);
    expect(checkHostKey([f], "web-2", "ssh-ed25519", keyB)).toMatchObject({ kind: "mismatch", line: 1 });
  });
});
