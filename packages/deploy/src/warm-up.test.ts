import { describe, expect, it } from "vitest";
import { parseDrvPath, parseNodeName, parseStorePath, type StorePath, type Transport } from "@hive/core";
import type { DeployNode } from "./deploy-node.js";
import { Deployment } from "./deployment.js";
import { plainDeployment } from "../../../test/support/plain-deployment.mjs";

function node(i: number): DeployNode {
  const name = `n${i}`;
  return {
    kind: "built",
    name: parseNodeName(name),
    deployment: plainDeployment(name),
    drvPath: parseDrvPath(`/nix/store/${"a".repeat(31)}${i % 10}-nixos-system-${name}.drv`),
    outPath: parseStorePath(`/nix/store/${"b".repeat(31)}${i % 10}-nixos-system-${name}`),
  };
}

/** A host nothing answers on: its commands fail; what matters here is when it was asked to connect. */
function unreachable(name: string, prepared: string[]): Transport {
  return {
    description: `root@${name}:22`,
    exec: () => Promise.reject(new Error("unreachable")),
    close: () => Promise.resolve(),
    prepare: () => prepared.push(name),
  };
}

describe("connections opened ahead of the builds", () => {
  it("connect while a node's build is checked, fifty hosts ahead at most, and only for goals that reach hosts", async () => {
    const prepared: string[] = [];
    // Builds that fail when told to: no host is then asked anything but to connect.
    const failing: (() => void)[] = [];
    const deployment = (goal: "switch" | "build") =>
      new Deployment({
        goal,
        parallel: 4,
        build: () => new Promise<StorePath>((_, reject) => failing.push(() => reject(new Error("build failed")))),
        transportFor: (n) => unreachable(n.name, prepared),
        noKeys: true,
        keySources: { text: () => Promise.reject(new Error("no keys")) },
        gzip: false,
        substitute: false,
        reactivate: false,
        forceReplaceUnknownProfiles: false,
        confirmTimeoutMs: 0,
        activationTimeoutMs: 60_000,
        breakLock: false,
      });
    const tick = () => new Promise((r) => setImmediate(r));
    const run = deployment("switch");
    for (let i = 0; i < 60; i++) run.add(node(i));
    await tick();
    // Before any build is done: the first fifty hosts are being connected to.
    expect(prepared).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
    // A build that ends (here: fails) ends its host's place ahead: later nodes get theirs.
    for (const fail of failing.splice(0, 10)) fail();
    await tick();
    for (let i = 60; i < 70; i++) run.add(node(i));
    await tick();
    expect(prepared.slice(50)).toEqual(Array.from({ length: 10 }, (_, i) => `n${60 + i}`));
    for (const fail of failing.splice(0)) fail();
    const results = await run.finish();
    expect(results.filter((r) => r.outcome === "failed" && r.step === "build")).toHaveLength(70);

    prepared.length = 0;
    const buildOnly = deployment("build");
    buildOnly.add(node(1));
    await tick();
    for (const fail of failing.splice(0)) fail();
    await buildOnly.finish();
    expect(prepared).toEqual([]);
  });
});
