import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HiveError, parseNodeName, type Deployment } from "@hive/core";
import { Inventory } from "./inventory.js";

const h1 = parseNodeName("h1");
const web1 = parseNodeName("web-1");

const base: Deployment = {
  targetHost: "h1",
  targetPort: null,
  targetUser: "root",
  allowLocalDeployment: false,
  buildOnTarget: false,
  tags: ["own"],
  keys: {},
  replaceUnknownProfiles: true,
  privilegeEscalationCommand: ["sudo", "-H", "--"],
  sshOptions: [],
};

function inventory(text: string): Inventory {
  const dir = mkdtempSync(join(tmpdir(), "hive-inventory-"));
  const file = join(dir, "hive.yaml");
  writeFileSync(file, text);
  return Inventory.load(file);
}

function loadError(text: string): HiveError {
  try {
    inventory(text);
  } catch (error) {
    if (error instanceof HiveError) return error;
    throw error;
  }
  throw new Error("hive.yaml was accepted");
}

const SAMPLE = `defaults:
  targetUser: deploy
nodes:
  "web-*":
    tags: [web]
    targetPort: 2222
  h1:
    targetHost: 10.0.0.1
    tags: [db]
    keys:
      token:
        keyFile: ./secrets/token
        user: app
rollout:
  canary: 1
`;

describe("hive.yaml", () => {
  it("fills in what the node did not set, the most specific entry winning, and says who set each field", () => {
    const inv = inventory(SAMPLE);
    const { deployment, sources } = inv.apply(h1, base, new Set(["tags"]));
    expect(deployment.targetHost).toBe("10.0.0.1");
    expect(deployment.targetUser).toBe("deploy");
    // The node set its tags itself: they win over the inventory's.
    expect(deployment.tags).toEqual(["own"]);
    expect(sources).toMatchObject({ targetHost: "hive.yaml:8", targetUser: "hive.yaml:2", tags: "node" });
    const token = deployment.keys["token"];
    expect(token?.source).toEqual({ kind: "file", path: join(inv.file, "..", "secrets", "token") });
    expect(token).toMatchObject({ path: "/run/keys/token", user: "app", group: "root", permissions: "0600" });
    expect(sources["keys.token"]).toBe("hive.yaml:11");

    const web = inv.apply(web1, { ...base, tags: [] }, new Set());
    expect(web.deployment).toMatchObject({ tags: ["web"], targetPort: 2222, targetHost: "h1" });
    expect(web.deployment.keys).toEqual({});
  });

  it("fills the rollout policy the hive's meta leaves unset", () => {
    const meta = { name: "hive", description: "", machinesFile: null, allowApplyAll: true };
    expect(inventory(SAMPLE).applyMeta(meta).rollout).toMatchObject({ canary: "1", waves: null });
  });

  it("sets fan-out per node (defaults for port and group) and the cache for the hive, unless the hive's meta has one", () => {
    const inv = inventory(`nodes:
  "web-*":
    fanOut: { address: 10.0.0.5 }
  h1:
    fanOut: { address: db.internal, port: 2222, group: dc2 }
viaCache:
  url: s3://cache?region=eu-west-1
  publicKey: "cache-1:AAAA"
`);
    expect(inv.apply(web1, base, new Set()).deployment.fanOut).toEqual({
      address: "10.0.0.5",
      port: 22,
      group: "default",
    });
    expect(inv.apply(h1, base, new Set()).deployment.fanOut).toEqual({
      address: "db.internal",
      port: 2222,
      group: "dc2",
    });
    const meta = { name: "hive", description: "", machinesFile: null, allowApplyAll: true };
    expect(inv.applyMeta(meta).viaCache).toEqual({
      url: "s3://cache?region=eu-west-1",
      publicKey: "cache-1:AAAA",
      substituter: null,
    });
    const own = { url: "https://mine", publicKey: null, substituter: null };
    expect(inv.applyMeta({ ...meta, viaCache: own }).viaCache).toBe(own);
    expect(loadError("viaCache: { url: x, secretKey: y }\n").message).toMatch(/hive\.yaml:1/);
  });

  it("names file, line and field for a wrong type, an unknown field and an inline secret", () => {
    const wrongType = loadError("nodes:\n  h1:\n    targetPort: ssh\n");
    expect(wrongType.code).toBe("HIVE_INVENTORY_INVALID");
    expect(wrongType.message).toMatch(/hive\.yaml:3: nodes\.h1\.targetPort: /);
    expect(loadError("nodes:\n  h1:\n    tags: [a]\n    targetHots: x\n").message).toMatch(
      /hive\.yaml:4: nodes\.h1\.targetHots: unknown field/,
    );
    expect(loadError("nodes:\n  h1:\n    keys:\n      k:\n        text: hunter2\n").message).toMatch(
      /hive\.yaml:5: nodes\.h1\.keys\.k\.text: secrets are never written inline/,
    );
    expect(loadError("nodes:\n  h1:\n    keys:\n      k:\n        text: hunter2\n").message).not.toContain("hunter2");
    expect(loadError("nodes: [h1\n").message).toMatch(/hive\.yaml:\d+: /);
  });

  it("refuses a node the hive does not have, and warns of a pattern that matches none", () => {
    const inv = inventory("nodes:\n  h1: {}\n  db-*: {}\n  h9:\n    tags: [x]\n");
    expect(() => inv.checkNodes([h1])).toThrow(/hive\.yaml:4: nodes\.h9: the hive has no node "h9"/);
    const ok = inventory("nodes:\n  h1:\n  db-*: {}\n");
    expect(ok.checkNodes([h1])).toEqual([
      expect.stringMatching(/hive\.yaml:3: the pattern nodes\.db-\* matches no node/),
    ]);
  });
});
