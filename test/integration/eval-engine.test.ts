import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { NodeName } from "@hive/core";
import { Hive, type EvaluatedNode, type NodeOutcome } from "@hive/eval";
import { hiveFixture } from "../support/hive-fixtures.js";

async function evaluateAll(dir: string, { nodesPerChunk, parallel }: { nodesPerChunk: number; parallel: number }) {
  const limits = { limit: nodesPerChunk, parallel, memoryBytes: 1024 ** 3 };
  const hive = await Hive.open({ cwd: dir });
  const events: string[] = [];
  const outcomes = new Map<NodeName, NodeOutcome<EvaluatedNode>>();
  await hive.evaluate(
    hive.nodes,
    (o) => {
      events.push(`${o.ok ? "ok" : "failed"} ${o.node}`);
      outcomes.set(o.node, o);
    },
    { limits, onChunk: (chunk) => events.push(`chunk ${chunk.join(",")}`) },
  );
  return { hive, events, outcomes };
}

describe("chunked, streaming evaluation of system derivations", () => {
  it("delivers each chunk's nodes as soon as it is done", async () => {
    const { events, outcomes } = await evaluateAll(hiveFixture("fleet"), { nodesPerChunk: 2, parallel: 1 });
    expect(events).toEqual([
      "chunk arm-1,builder",
      "ok arm-1",
      "ok builder",
      "chunk db-1,web-1",
      "ok db-1",
      "ok web-1",
      "chunk web-2",
      "ok web-2",
    ]);
    for (const outcome of outcomes.values()) {
      if (!outcome.ok) throw outcome.error;
      expect(outcome.value.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-.*\.drv$/);
      expect(existsSync(outcome.value.drvPath), "the .drv is written to the store, ready to build").toBe(true);
    }
    const web2 = outcomes.get("web-2" as NodeName);
    expect(web2?.ok && web2.value.deployment.targetPort).toBe(2222);
  });

  it("fails a broken node alone, with its own error, and evaluates the others", async () => {
    const { events, outcomes } = await evaluateAll(join(hiveFixture("errors"), "broken-node"), {
      nodesPerChunk: 4,
      parallel: 2,
    });
    const failed = [...outcomes.values()].flatMap((o) => (o.ok ? [] : [o]));
    expect(failed.map((o) => o.node)).toEqual(["broken"]);
    const [broken] = failed;
    if (broken === undefined) throw new Error("unreachable");
    expect(broken.error.code).toBe("HIVE_NODE_EVAL_FAILED");
    expect(broken.error.message).toMatch(/^node broken: evaluation failed:\n.*attribute 'no-such-package' missing/s);
    expect(
      [...outcomes.values()]
        .filter((o) => o.ok)
        .map((o) => o.node)
        .sort(),
    ).toEqual(["n1", "n2", "n3", "n5", "n6", "n7"]);
    // The chunk holding `broken` was split until it stood alone.
    expect(events).toContain("chunk broken");
  });

  it("gives the same derivation whatever the chunking", async () => {
    const one = await evaluateAll(hiveFixture("fleet"), { nodesPerChunk: 1, parallel: 2 });
    const all = await evaluateAll(hiveFixture("fleet"), { nodesPerChunk: 5, parallel: 1 });
    const drvs = (m: Map<NodeName, NodeOutcome<EvaluatedNode>>) =>
      [...m.values()].map((o) => (o.ok ? o.value.drvPath : "failed")).sort();
    expect(drvs(one.outcomes)).toEqual(drvs(all.outcomes));
  });
});
