import { describe, expect, it } from "vitest";
import { parseSshOptions } from "./ssh-options.js";

describe("deployment.sshOptions, parsed as ssh(1) parses its command line", () => {
  it("takes bundled flags and values written with or without a space", () => {
    const parsed = parseSshOptions(["-4Cp2222", "-l", "ops", "-oConnectTimeout=3", "-J", "bastion"], "n");
    expect(Object.fromEntries(parsed.options)).toEqual({
      addressfamily: ["inet"],
      compression: ["yes"],
      port: ["2222"],
      user: ["ops"],
      connecttimeout: ["3"],
      proxyjump: ["bastion"],
    });
    expect(parsed.ignored).toEqual([]);
  });

  it("accepts every valid flag, listing once each one hive does not act on", () => {
    const parsed = parseSshOptions(
      ["-A", "-q", "-T", "-vvv", "-t", "-L", "8080:localhost:80", "-c", "aes128-ctr", "-o", "SendEnv=LANG"],
      "n",
    );
    expect(parsed.ignored).toEqual([
      "-A: hive never forwards the agent to a target",
      "-v: hive has no ssh debug output (hive -v prints build and activation logs)",
      "-t: hive's commands need no terminal",
      "-L: hive does not use localforward",
      "-c: hive does not use ciphers",
      "-o SendEnv=LANG: hive does not use SendEnv",
    ]);
  });

  it("refuses what ssh(1) itself would refuse, naming node and flag", () => {
    expect(() => parseSshOptions(["-Z"], "web-1")).toThrow(/node web-1: .* -Z, which ssh\(1\) does not know/);
    expect(() => parseSshOptions(["-p"], "web-1")).toThrow(/ends with -p and no value/);
    expect(() => parseSshOptions(["root@web-1"], "web-1")).toThrow(/"root@web-1", which is not an ssh\(1\) option/);
  });
});
