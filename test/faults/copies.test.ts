import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function writeHive(nodes: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-faults-"));
  dirs.push(dir);
  const body = Object.entries(nodes)
    .map(([name, module]) => `  ${name} = { ${module} };`)
    .join("\n");
  await writeFile(
    join(dir, "hive.nix"),
    `{\n  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };\n${body}\n}\n`,
  );
  return dir;
}

const payload = (seed: string, mib: number) =>
  `testbed.payload = { paths = 8; bytes = ${Math.round((mib * 1024 * 1024) / 8)}; seed = "${seed}"; };`;

describe("copies that break", () => {
  const fleet = useFleet({
    hosts: [{ name: "far" }, { name: "small", storeBytes: 24 * 1024 * 1024 }, { name: "fine" }],
  });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  it("reports a copy cut half-way, leaves the target's store consistent, and the next run succeeds", async () => {
    const link = await fleet().link("far");
    const dir = await writeHive({ far: `deployment.targetHost = "far-link"; ${payload(`cut-${Date.now()}`, 16)}` });
    link.cutAfter(4 * 1024 * 1024);
    const cut = await hive(["apply", "--no-gzip"], { cwd: dir, env: env() });
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/^far: failed at push: /m);
    const verify = await fleet().host("far").run(["nix-store", "--verify", "--check-contents"]);
    expect(verify.code, verify.stderr).toBe(0);
    const again = await hive(["apply", "--no-gzip"], { cwd: dir, env: env() });
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toMatch(/^far: succeeded/m);
  });

  it("refuses, before any byte is sent, a push that cannot fit the host's store, and deploys the others", async () => {
    const seed = `full-${Date.now()}`;
    const dir = await writeHive({ small: payload(seed, 40), fine: payload(seed, 1) });
    const result = await hive(["apply"], { cwd: dir, env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^small: failed at push: node small: push: the paths to copy need [\d.]+ MiB, and root@small[^ ]* has [\d.]+ MiB free in \/nix\/store/m,
    );
    expect(result.stdout).toMatch(/hint: free space on the host/);
    expect(result.stdout).toMatch(/^fine: succeeded/m);
    // Nothing of the payload reached the small host.
    const store = await fleet().host("small").run(["sh", "-c", "ls /nix/store | grep -c payload || true"]);
    expect(store.stdout.trim()).toBe("0");
  });
});
