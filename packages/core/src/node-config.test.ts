import { describe, expect, it } from "vitest";
import { parseDeployment } from "./node-config.js";
import { parseNodeName } from "./ids.js";

const node = parseNodeName("web-1");

function deploymentWithKey(key: Record<string, unknown>) {
  return {
    targetHost: "web-1",
    targetPort: null,
    targetUser: "root",
    allowLocalDeployment: false,
    buildOnTarget: false,
    tags: [],
    keys: {
      secret: {
        name: "secret",
        source: { kind: "text" },
        destDir: "/run/keys",
        path: "/run/keys/secret",
        user: "root",
        group: "root",
        permissions: "0600",
        uploadAt: "pre-activation",
        ...key,
      },
    },
    replaceUnknownProfiles: true,
    privilegeEscalationCommand: ["sudo", "-H", "--"],
    sshOptions: [],
  };
}

describe("deployment.keys", () => {
  it("refuses a destDir that climbs out with '..', naming node and key", () => {
    expect(() => parseDeployment(node, deploymentWithKey({ destDir: "/run/keys/../../tmp/escaped" }))).toThrow(
      /node web-1: deployment\.keys\.secret\.destDir: must not contain '\.' or '\.\.'/,
    );
    expect(() => parseDeployment(node, deploymentWithKey({ destDir: "run/keys" }))).toThrow(/must be an absolute path/);
  });

  it("derives path from destDir and name, whatever the hive says", () => {
    const parsed = parseDeployment(node, deploymentWithKey({ destDir: "/var/keys/", path: "/etc/shadow" }));
    expect(parsed.keys["secret"]?.path).toBe("/var/keys/secret");
  });
});
