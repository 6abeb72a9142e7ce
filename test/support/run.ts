import { execFile } from "node:child_process";
import { nixEnvironment, type Testbed } from "@hive/testbed";

export interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs a program to its end. With `timeoutMs`, one still running then is killed (SIGKILL) and its
 * result says so on stderr, after what it printed: a hang fails its test with the output, not by
 * the test's own timeout with none.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        maxBuffer: 256 * 1024 * 1024,
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs, killSignal: "SIGKILL" as const } : {}),
      },
      (error, stdout, stderr) => {
        const timedOut = error?.killed === true && options.timeoutMs !== undefined;
        resolve({
          stdout,
          stderr: timedOut ? `${stderr}\n[killed: still running after ${options.timeoutMs} ms]` : stderr,
          code: error ? (typeof error.code === "number" ? error.code : -1) : 0,
        });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function ok(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(" ")} failed (${result.code}):\n${result.stderr}`);
  return result.stdout;
}

/** ssh to a fleet host through its ssh_config, as a user would. */
export function ssh(
  fleet: Testbed,
  alias: string,
  command: string,
  options: { user?: string; input?: string } = {},
): Promise<Result> {
  const userArgs = options.user === undefined ? [] : ["-l", options.user];
  return run(
    "ssh",
    [...userArgs, ...fleet.sshArgs(alias), command],
    options.input === undefined ? {} : { input: options.input },
  );
}

/** Builds a Nix expression on this machine (no substituters, no sandbox) and returns its out path. */
export async function nixBuild(expression: string): Promise<string> {
  const out = await ok("nix-build", ["--no-out-link", "-E", expression], { env: nixEnvironment() });
  const path = out.trim().split("\n").pop();
  if (path === undefined || !path.startsWith("/nix/store/")) throw new Error(`nix-build printed no store path: ${out}`);
  return path;
}

/** Copies a closure to a fleet host with `nix copy --to ssh://ALIAS`, through the fleet's ssh_config. */
export function nixCopy(fleet: Testbed, alias: string, path: string): Promise<Result> {
  return run("nix", ["copy", "--to", `ssh://${alias}`, path], {
    env: { ...nixEnvironment(), NIX_SSHOPTS: `-F ${fleet.sshConfigPath}` },
  });
}
