import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { miniNixpkgsPath, SUDO_PASSWORD_USER } from "@hive/testbed";
import { traceExecs } from "../support/exec-trace.js";
import { useFleet } from "../support/fleet.js";
import { run, ssh } from "../support/run.js";
import { TmuxSession } from "../support/tmux.js";

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * `--interactive-sudo` with the testbed's deploy-pw user, whose sudo asks for a password: hive
 * asks on a real terminal (tmux), a person types it, and the deploy (keys included) goes through
 * sudo -S. strace records every argv here and on the host: the password is in none of them.
 */
describe("--interactive-sudo", () => {
  const fleet = useFleet({ hosts: 1 });
  let session: TmuxSession | undefined;
  afterEach(async () => {
    await session?.kill();
    session = undefined;
  });

  async function writeHive(secret: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "hive-sudo-"));
    await writeFile(
      join(dir, "hive.nix"),
      `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  h1 = { name, ... }: {
    networking.hostName = name;
    deployment.targetUser = "${SUDO_PASSWORD_USER.name}";
    deployment.keys.k.text = "${secret}";
    system.activationScripts.mark = "echo ${secret.slice(0, 8)} > /run/sudo-deploy";
  };
}
`,
    );
    return dir;
  }

  /** hive apply under strace in a tmux pane; types `password` at its prompt. */
  async function applyTyping(dir: string, password: string, args: string[] = []) {
    const state = join(dir, "state");
    await mkdir(state);
    const trace = await traceExecs(fleet(), "h1", dir);
    const env = {
      SSH_CONFIG_FILE: fleet().sshConfigPath,
      SSH_AUTH_SOCK: "",
      NIX_CONFIG: "substituters =",
      NIX_PATH: "",
      XDG_STATE_HOME: state,
      PATH: process.env["PATH"] ?? "",
    };
    const argv = trace.argv(["apply", "--interactive-sudo", "--log-format", "plain", ...args]);
    session = await TmuxSession.start(
      `sh -c ${quote(`cd ${quote(dir)} && exec strace ${argv.map(quote).join(" ")}`)}`,
      {
        env,
        height: 60,
      },
    );
    await session.waitFor(/sudo password for the deploy user:\s*$/m, 60_000);
    await session.send("-l", password);
    await session.send("Enter");
    const screen = await session.waitFor(/^\[exit \d+\]$/m, 180_000);
    const traces = await trace.stop();
    const logs = await run("grep", ["-rlF", "-e", password, state]);
    return { screen, traces, code: Number(/^\[exit (\d+)\]$/m.exec(screen)?.[1]), logsWithPassword: logs.stdout };
  }

  it("asks once without echo, feeds sudo on stdin, and the password shows up nowhere", async () => {
    const secret = `KEY-${randomBytes(6).toString("hex")}`;
    const dir = await writeHive(secret);
    const { screen, traces, code, logsWithPassword } = await applyTyping(dir, SUDO_PASSWORD_USER.password);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/^h1: succeeded \(/m);
    const system = /^h1: succeeded \((\/nix\/store\/[^)]+)\)$/m.exec(screen)?.[1];
    expect(await fleet().host("h1").currentSystem()).toBe(system);
    expect((await ssh(fleet(), "h1", "cat /run/sudo-deploy /run/keys/k")).stdout).toBe(
      `${secret.slice(0, 8)}\n${secret}`,
    );
    // sudo ran with -S on the host, and the key still arrived whole behind the password line.
    expect(traces.host).toMatch(/execve\("[^"]*sudo", \["sudo", "-S", "-k", "-p", "", "-H", "--"/);
    for (const [where, text] of [
      ["the terminal", screen],
      ["an argv on this machine", traces.local],
      ["an argv on the host", traces.host],
    ] as const)
      expect(text.includes(SUDO_PASSWORD_USER.password), `the password in ${where}`).toBe(false);
    expect(logsWithPassword).toBe("");
    expect(await readFile(join(dir, "hive.nix"), "utf8")).not.toContain(SUDO_PASSWORD_USER.password);
  });

  it("fails the node with a clear message on a wrong password, and changes nothing", async () => {
    const dir = await writeHive("unused");
    const before = await fleet().host("h1").currentSystem();
    const { screen, code, traces } = await applyTyping(dir, "not-the-password", ["--reactivate"]);
    expect(code, screen).toBe(1);
    expect(screen.replace(/\n/g, " ")).toMatch(
      /h1: failed at \S+: deploy-pw@h1:\d+: sudo did not accept the password given to --interactive-sudo/,
    );
    expect(screen).not.toContain("not-the-password");
    expect(traces.host.includes("not-the-password")).toBe(false);
    expect(await fleet().host("h1").currentSystem()).toBe(before);
  });
});
