import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { flakeFixture, hive, hiveFixture, hiveJson } from "../support/hive-fixtures.js";

/**
 * hive.yaml beside a nixosConfigurations flake: deployment settings that do not belong in the
 * NixOS configurations (another ssh alias, tags, a key), the node's own deployment.* winning.
 */
describe("a hive.yaml inventory", () => {
  const fleet = useFleet({ hosts: [{ name: "n1" }, { name: "n2" }, { name: "n3" }] });

  /** ssh_config where n2 is known only as n2-alias: without the inventory, n2 cannot be reached. */
  async function aliasConfig(dir: string): Promise<string> {
    const path = join(dir, "ssh_config");
    const original = await readFile(fleet().sshConfigPath, "utf8");
    await writeFile(path, original.replace(/^Host n2$/m, "Host n2-alias"));
    return path;
  }

  const INVENTORY = `# deployment settings kept beside the flake
nodes:
  "n*":
    tags: [fleet]
  n1:
    tags: [ignored]
  n2:
    targetHost: n2-alias
    keys:
      token:
        keyFile: ./token.txt
        permissions: "0640"
`;

  it("refuses a malformed hive.yaml naming file, line and field, and deploys nothing", async () => {
    const flake = await flakeFixture("nixos-configurations");
    const cases: [string, RegExp][] = [
      ["nodes:\n  n2:\n    targetPort: ssh\n", /hive\.yaml:3: nodes\.n2\.targetPort: .*number/],
      [
        "nodes:\n  n2:\n    tags: [a]\n    buildOnTraget: true\n",
        /hive\.yaml:4: nodes\.n2\.buildOnTraget: unknown field/,
      ],
      ["defaults:\n  tags: [a]\nnodes:\n  n7:\n    tags: [b]\n", /hive\.yaml:4: nodes\.n7: the hive has no node "n7"/],
    ];
    for (const [text, message] of cases) {
      await writeFile(join(flake, "hive.yaml"), text);
      const result = await hive(["apply"], { cwd: flake, env: { SSH_CONFIG_FILE: fleet().sshConfigPath } });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain(join(flake, "hive.yaml"));
    }
    for (const name of ["n1", "n2", "n3"]) expect(await fleet().host(name).currentSystem()).toBeUndefined();
  });

  it("gives nodes their settings, says which source set each field, and deploys through them", async () => {
    const flake = await flakeFixture("nixos-configurations");
    await writeFile(join(flake, "hive.yaml"), INVENTORY);
    await writeFile(join(flake, "token.txt"), "s3cret-token");
    const nodes = await hiveJson<
      { name: string; targetHost: string; tags: string[]; keys: string[]; sources: Record<string, string> }[]
    >(["nodes", "--json"], { cwd: flake });
    expect(nodes.map((n) => [n.name, n.targetHost, n.tags, n.keys])).toEqual([
      ["n1", "n1", ["edge"], []],
      ["n2", "n2-alias", ["fleet"], ["token"]],
      ["n3", "n3", ["fleet"], []],
    ]);
    // n1 sets its tags itself (it imports hive's deployment options): the node wins.
    expect(nodes[0]?.sources).toMatchObject({ tags: "node" });
    expect(nodes[1]?.sources).toMatchObject({
      tags: "hive.yaml:4",
      targetHost: "hive.yaml:8",
      "keys.token": "hive.yaml:10",
    });

    const table = await hive(["nodes", "--on", "n2", "--no-json"], { cwd: flake });
    expect(table.stdout).toMatch(/set by/);
    expect(table.stdout).toMatch(/hive\.yaml: targetHost:8/);

    const env = { SSH_CONFIG_FILE: await aliasConfig(flake), SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" };
    const result = await hive(["apply", "--on", "@fleet"], { cwd: flake, env });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^n2: succeeded/m);
    expect(result.stdout).toMatch(/^n3: succeeded/m);
    expect(result.stdout).not.toMatch(/^n1:/m);
    expect(result.stdout + result.stderr).not.toContain("s3cret-token");
    const key = await fleet().host("n2").run(["sh", "-c", "stat -c '%a' /run/keys/token; cat /run/keys/token"]);
    expect(key.stdout).toBe("640\ns3cret-token");
    expect((await fleet().host("n2").run(["cat", "/run/built-as"])).stdout.trim()).toBe("n2");
  });

  it("works for a Colmena hive too, given by --inventory: what the hive sets wins", async () => {
    const dir = await flakeFixture("nixos-configurations");
    const file = join(dir, "fleet.yaml");
    await writeFile(file, "defaults:\n  targetUser: ops\nnodes:\n  web-*:\n    targetPort: 2200\n");
    const nodes = await hiveJson<{ name: string; targetPort: number | null; targetUser: string; sources: object }[]>([
      "nodes",
      "--json",
      "-f",
      hiveFixture("fleet"),
      "--inventory",
      file,
      "--on",
      "web-*,builder",
    ]);
    expect(nodes.map((n) => [n.name, n.targetPort, n.targetUser])).toEqual([
      ["builder", null, "deploy"],
      ["web-1", 2200, "ops"],
      ["web-2", 2222, "ops"],
    ]);
    expect(nodes[2]?.sources).toMatchObject({ targetPort: "node", targetUser: "fleet.yaml:2" });
  });
});
