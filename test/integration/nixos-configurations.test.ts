import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { flakeFixture, flakeToplevel, hive, hiveJson } from "../support/hive-fixtures.js";

/**
 * A flake with nixosConfigurations and no colmena output, deployed as it is: each configuration
 * is a node; one imports hive's deployment options (tags), two are reached through the ssh_config
 * alias of their name. Each host must run exactly its configuration's own toplevel.
 */
describe("a flake's nixosConfigurations", () => {
  const fleet = useFleet({ hosts: [{ name: "n1" }, { name: "n2" }, { name: "n3" }] });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });
  const toplevel = flakeToplevel;

  it("lists each configuration as a node, with deployment options where it imports them", async () => {
    const flake = await flakeFixture("nixos-configurations");
    const nodes = await hiveJson<{ name: string; targetHost: string; tags: string[] }[]>(["nodes", "--json"], {
      cwd: flake,
    });
    expect(nodes.map((n) => [n.name, n.targetHost, n.tags])).toEqual([
      ["n1", "n1", ["edge"]],
      ["n2", "n2", []],
      ["n3", "n3", []],
    ]);
  });

  it("deploys them, selects by tag, and each host runs its configuration's own toplevel", async () => {
    const flake = await flakeFixture("nixos-configurations");
    // What a deploy would change, before it: every host's first system.
    const diff = await hive(["diff", "--json"], { cwd: flake, env: env() });
    expect(diff.code, diff.stderr).toBe(0);
    const planned = JSON.parse(diff.stdout) as { nodes: { node: string; kind: string }[] };
    expect(planned.nodes.map((n) => [n.node, n.kind])).toEqual([
      ["n1", "change"],
      ["n2", "change"],
      ["n3", "change"],
    ]);

    const edge = await hive(["apply", "--on", "@edge"], { cwd: flake, env: env() });
    expect(edge.code, edge.stdout + edge.stderr).toBe(0);
    expect(edge.stdout).toMatch(/^n1: succeeded/m);
    expect(edge.stdout).not.toMatch(/^n[23]:/m);
    expect(await fleet().host("n2").currentSystem()).toBeUndefined();

    const all = await hive(["apply"], { cwd: flake, env: env() });
    expect(all.code, all.stdout + all.stderr).toBe(0);
    for (const name of ["n1", "n2", "n3"]) {
      expect(await fleet().host(name).currentSystem(), name).toBe(await toplevel(flake, name));
      expect((await fleet().host(name).run(["cat", "/run/built-as"])).stdout.trim()).toBe(name);
    }
    expect(all.stdout).toMatch(/^n1: unchanged/m);

    // The fleet view works on such a flake too: every host runs what its configuration says.
    const status = await hive(["status", "--json"], { cwd: flake, env: env() });
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { node: string; verdict: string }[];
    expect(rows.map((r) => [r.node, r.verdict])).toEqual([
      ["n1", "up-to-date"],
      ["n2", "up-to-date"],
      ["n3", "up-to-date"],
    ]);
  });

  it("takes -f REF#NODE as nixos-rebuild takes --flake .#host: that node alone", async () => {
    const flake = await flakeFixture("nixos-configurations");
    const one = await hiveJson<{ name: string }[]>(["nodes", "--json", "-f", `${flake}#n3`]);
    expect(one.map((n) => n.name)).toEqual(["n3"]);
    const both = await hive(["nodes", "-f", `${flake}#n3`, "--on", "n1"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/-f \.\.\.#n3 selects the node n3, and --on selects too/);
    const unknown = await hive(["nodes", "-f", `${flake}#n9`]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/the flake has no node "n9"\n {2}hint: nodes: n1, n2, n3/);
  });
});
