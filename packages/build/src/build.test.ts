import { describe, expect, it } from "vitest";
import type { DrvPath } from "@hive/core";
import { closureToBuild, parseDryRun, type DrvInfo } from "./derivations.js";
import { formatMachines, parseMachines } from "./machines.js";
import { parseNixLogLine } from "./nix-log.js";
import { placeNode } from "./placement.js";

describe("parseMachines", () => {
  it("reads Nix's machines format, with defaults for '-' and missing fields", () => {
    const machines = parseMachines(
      "# builders\nssh://arm aarch64-linux,armv7l-linux /k 4 2 big-parallel,kvm - -\nbuilder ; ssh-ng://x@y - - 0\n",
      "x86_64-linux",
    );
    expect(machines).toMatchObject([
      { uri: "ssh://arm", systems: ["aarch64-linux", "armv7l-linux"], sshKey: "/k", maxJobs: 4, speedFactor: 2 },
      { uri: "ssh://builder", systems: ["x86_64-linux"], maxJobs: 1, supportedFeatures: [] },
      { uri: "ssh-ng://x@y", maxJobs: 0 },
    ]);
    expect(machines[0]?.supportedFeatures).toEqual(["big-parallel", "kvm"]);
    expect(parseMachines(formatMachines(machines), "x86_64-linux")).toEqual(machines);
  });

  it("refuses what is not a builder", () => {
    expect(() => parseMachines("http://nope x86_64-linux", "x86_64-linux")).toThrow(/is not a builder URI/);
    expect(() => parseMachines("ssh://a x86_64-linux - many", "x86_64-linux")).toThrow(
      /max jobs must be a whole number/,
    );
  });
});

describe("placeNode", () => {
  const capabilities = {
    localSystems: ["x86_64-linux", "i686-linux"],
    machines: parseMachines("ssh://arm aarch64-linux - 2\nssh://off aarch64-linux - 0", "x86_64-linux"),
  };
  it("builds here what this machine can, on builders what they declare, on the target when asked", () => {
    expect(placeNode("i686-linux", false, capabilities).kind).toBe("local");
    expect(placeNode("aarch64-linux", false, capabilities)).toMatchObject({
      kind: "builders",
      machines: [{ uri: "ssh://arm" }],
    });
    expect(placeNode("aarch64-linux", true, capabilities).kind).toBe("target");
  });
  it("names the three ways out when nothing can build a system", () => {
    const nowhere = placeNode("riscv64-linux", false, capabilities);
    expect(nowhere.kind).toBe("nowhere");
    if (nowhere.kind === "nowhere") {
      expect(nowhere.reason).toMatch(/riscv64-linux/);
      expect(nowhere.hint).toMatch(/builder .*machinesFile.*buildOnTarget.*crossSystem/);
    }
  });
});

describe("parseDryRun", () => {
  it("reads the derivations Nix would build and the paths it would fetch", () => {
    const stderr = [
      "these 2 derivations will be built:",
      "  /nix/store/aaaa-a.drv",
      "  /nix/store/bbbb-b.drv",
      "this path will be fetched (0.01 MiB download, 0.05 MiB unpacked):",
      "  /nix/store/cccc-c",
      "warning: something",
    ].join("\n");
    expect(parseDryRun(stderr)).toEqual({
      build: ["/nix/store/aaaa-a.drv", "/nix/store/bbbb-b.drv"],
      fetch: ["/nix/store/cccc-c"],
    });
    expect(parseDryRun("this derivation will be built:\n  /nix/store/dddd-d.drv\n").build).toEqual([
      "/nix/store/dddd-d.drv",
    ]);
  });
});

describe("closureToBuild", () => {
  it("follows inputs that have to be built, from one toplevel only", () => {
    const d = (name: string) => `/nix/store/${name.repeat(32).slice(0, 32)}-${name}.drv` as DrvPath;
    const info = (name: string, inputs: string[]): [DrvPath, DrvInfo] => [
      d(name),
      { path: d(name), system: "x86_64-linux", inputs: inputs.map(d), features: [], outputs: [] },
    ];
    const plan = new Map([info("a", ["b", "c"]), info("b", ["c"]), info("c", []), info("z", ["c"])]);
    expect(closureToBuild(plan, d("a")).sort()).toEqual([d("a"), d("b"), d("c")].sort());
    expect(closureToBuild(plan, d("z")).sort()).toEqual([d("c"), d("z")].sort());
  });
});

describe("parseNixLogLine", () => {
  it("turns internal-json into log lines, build starts and stops, and failures", () => {
    expect(parseNixLogLine('@nix {"action":"result","id":1,"type":101,"fields":["compiling foo.c"]}')).toEqual({
      kind: "log",
      line: "compiling foo.c",
      id: 1,
    });
    expect(
      parseNixLogLine(
        '@nix {"action":"start","id":2,"type":105,"text":"building","fields":["/nix/store/x-a.drv","ssh://arm",1,1]}',
      ),
    ).toEqual({ kind: "building", id: 2, drv: "/nix/store/x-a.drv", machine: "ssh://arm" });
    expect(
      parseNixLogLine(
        '@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m builder for \'/nix/store/x-a.drv\' failed with exit code 1"}',
      ),
    ).toEqual({
      kind: "failed",
      drv: "/nix/store/x-a.drv",
      line: "error: builder for '/nix/store/x-a.drv' failed with exit code 1",
    });
    expect(parseNixLogLine('@nix {"action":"stop","id":2}')).toEqual({ kind: "stopped", id: 2 });
    expect(parseNixLogLine("plain text")).toEqual({ kind: "log", line: "plain text", id: undefined });
  });
});
