import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needsOpenSsh } from "./openssh-settings.js";

describe("when OpenSSH's own resolution (ssh -G) is needed", () => {
  const home = mkdtempSync(join(tmpdir(), "hive-ssh-home-"));
  const etc = mkdtempSync(join(tmpdir(), "hive-ssh-etc-"));
  mkdirSync(join(etc, "ssh_config.d"));
  const system = (text: string) => [{ text, base: etc }];

  it("not for Host blocks alone, nor for an Include that pulls in nothing (Debian's, on a fresh system)", () => {
    expect(needsOpenSsh(system("Host web\n  Port 2222\n"), home)).toBe(false);
    expect(needsOpenSsh(system(`Include ${etc}/ssh_config.d/*.conf\n`), home)).toBe(false);
    writeFileSync(join(etc, "ssh_config.d", "empty.conf"), "# only a comment\n\n");
    expect(needsOpenSsh(system("Include ssh_config.d/*.conf\n"), home)).toBe(false);
  });

  it("for Match, and for an Include that pulls in settings (relative to ~/.ssh or /etc/ssh, ~ expanded)", () => {
    expect(needsOpenSsh(system("Match host web\n  User deploy\n"), home)).toBe(true);
    writeFileSync(join(etc, "ssh_config.d", "fleet.conf"), "Host web\n  User deploy\n");
    expect(needsOpenSsh(system("Include ssh_config.d/*.conf\n"), home)).toBe(true);
    mkdirSync(join(home, ".ssh"));
    writeFileSync(join(home, ".ssh", "extra"), "Host db\n  Port 2200\n");
    expect(needsOpenSsh([{ text: "Include ~/.ssh/extra\n", base: join(home, ".ssh") }], home)).toBe(true);
    expect(needsOpenSsh([{ text: "Include extra\n", base: join(home, ".ssh") }], home)).toBe(true);
    expect(needsOpenSsh([{ text: "Include */config\n", base: join(home, ".ssh") }], home)).toBe(true);
  });
});
