import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hiveBin, repoRoot } from "../support/paths.js";
import { ok, run } from "../support/run.js";

/**
 * hive as an operator gets it: `pnpm pack` makes the tarball, `npm install -g` puts it into an
 * empty prefix (offline: the tarball must carry everything), and the installed `hive` deploys.
 */
describe("the packed hive, installed with npm", () => {
  const fleet = useFleet({ hosts: 1 });
  let work: string;
  let tarball: string;
  let installed: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "hive-install-"));
    await ok("pnpm", ["--dir", join(repoRoot, "packages/hive"), "pack", "--pack-destination", work]);
    const packed = (await readdir(work)).filter((f) => f.endsWith(".tgz"));
    expect(packed).toHaveLength(1);
    tarball = join(work, packed[0] ?? "");
    const prefix = join(work, "prefix");
    await mkdir(prefix);
    await ok("npm", ["install", "--global", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball]);
    installed = join(prefix, "bin", "hive");
  }, 120_000);

  it("is named hive, runs as `hive`, and has the CLI's version", async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, "packages/cli/package.json"), "utf8")) as {
      version: string;
    };
    expect(tarball).toMatch(new RegExp(`/hive-${version.replace(/\./g, "\\.")}\\.tgz$`));
    expect(await ok(installed, ["--version"])).toBe(`${version}\n`);
  });

  it("prints the same help as the workspace's CLI, wrapped the same (the bundle measures text lazily)", async () => {
    for (const args of [["--help"], ["apply", "--help"]]) {
      const env = { ...process.env, COLUMNS: "100" };
      expect(await ok(installed, args, { env })).toBe(await ok(process.execPath, [hiveBin, ...args], { env }));
    }
  });

  it("needs nothing but itself: no dependencies to fetch", async () => {
    const manifest = JSON.parse(await ok("tar", ["-xzOf", tarball, "package/package.json"])) as Record<string, unknown>;
    expect(manifest["dependencies"]).toBeUndefined();
    expect(manifest["bin"]).toEqual({ hive: "./dist/hive.mjs" });
  });

  it("runs with npx from the tarball", async () => {
    const result = await run("npm", ["exec", "--offline", "--yes", `--package=${tarball}`, "--", "hive", "--version"], {
      cwd: work,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("starts from V8's code cache after its first run, and never trusts a cache blindly", async () => {
    const home = await mkdtemp(join(tmpdir(), "hive-cache-home-"));
    const env = { ...process.env, XDG_CACHE_HOME: home };
    const cacheDir = join(home, "hive", "v8");
    const version = await ok(installed, ["--version"], { env });
    const [file, ...others] = await readdir(cacheDir);
    expect(others).toEqual([]);
    const cache = join(cacheDir, file ?? "");
    const written = await stat(cache);
    expect(written.mode & 0o777).toBe(0o600);
    // Taken as it is: a cache V8 refused would be written again.
    expect(await ok(installed, ["--version"], { env })).toBe(version);
    expect((await stat(cache)).mtimeMs).toBe(written.mtimeMs);
    // A damaged cache is refused by V8: hive runs all the same, and writes a good one.
    await writeFile(cache, Buffer.alloc(written.size, 7));
    expect(await ok(installed, ["--version"], { env })).toBe(version);
    expect((await readFile(cache)).equals(Buffer.alloc(written.size, 7))).toBe(false);
    const off = await mkdtemp(join(tmpdir(), "hive-cache-off-"));
    await ok(installed, ["--version"], { env: { ...env, XDG_CACHE_HOME: off, HIVE_NO_COMPILE_CACHE: "1" } });
    expect(await readdir(off)).toEqual([]);
  });

  it("lists the example hive's nodes", async () => {
    const rows = JSON.parse(await ok(installed, ["nodes", "--json", "-f", join(repoRoot, "examples/fleet")])) as {
      name: string;
    }[];
    expect(rows.map((r) => r.name).sort()).toEqual(["db", "web-1", "web-2"]);
  });

  it("deploys to a real host", async () => {
    const dir = join(work, "hive");
    await mkdir(dir);
    await writeFile(
      join(dir, "hive.nix"),
      `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  h1 = { name, ... }: { networking.hostName = name; system.activationScripts.mark = "echo installed > /run/activated-by"; };
}
`,
    );
    const env = {
      ...process.env,
      SSH_CONFIG_FILE: fleet().sshConfigPath,
      SSH_AUTH_SOCK: "",
      NIX_CONFIG: "substituters =",
    };
    const result = await run(installed, ["apply", "--log-format", "plain"], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
    const system = /^h1: succeeded \((\/nix\/store\/[^)]+)\)$/m.exec(result.stdout)?.[1];
    expect(system).toMatch(/-nixos-system-h1-/);
    expect(await fleet().host("h1").currentSystem()).toBe(system);

    // In CI: GitHub's log format, and the step summary a job shows.
    const summary = join(work, "step-summary.md");
    const again = await run(installed, ["apply", "--log-format", "github"], {
      cwd: dir,
      env: { ...env, GITHUB_STEP_SUMMARY: summary },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^::group::h1: unchanged$/m);
    const markdown = await readFile(summary, "utf8");
    expect(markdown).toMatch(/^### hive apply switch: 1 unchanged in \d+\.\d s$/m);
    expect(markdown).toContain(`| h1 | ⏺️ unchanged |  | `);
    expect(markdown).toContain(`\`${system}\``);
  });
});
