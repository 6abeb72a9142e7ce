import { describe, expect, it } from "vitest";
import type { NodeName } from "@hive/core";
import { assess } from "./drift.js";
import { parseHostState, type HostState } from "./host-state.js";
import type { DeployRecord } from "./history.js";

const node = "web-1" as NodeName;
const A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-1";
const B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-web-1";
const record = (system: string, outcome: DeployRecord["outcome"] = "succeeded"): DeployRecord => ({
  v: 1,
  time: "2026-11-20T10:00:00.000Z",
  user: "alice",
  from: "laptop",
  goal: "switch",
  system,
  outcome,
});
const state = (current: string | undefined, history: DeployRecord[] = [], profile = current): HostState => ({
  current,
  profile,
  systemd: false,
  generation: 7,
  switchedAt: new Date("2026-11-21T00:00:00Z"),
  history,
});

describe("parseHostState", () => {
  it("reads the probe's fields and history, skipping lines that are not records", () => {
    const text = `current=${A}\nprofile=${B}\ngeneration=system-12-link\nswitched=1700000000\n---\n${JSON.stringify(record(A))}\nnot json\n{"v":9}\n`;
    const parsed = parseHostState(text);
    expect(parsed).toMatchObject({ current: A, profile: B, generation: 12 });
    expect(parsed.switchedAt?.getTime()).toBe(1_700_000_000_000);
    expect(parsed.history.map((r) => r.system)).toEqual([A]);
  });

  it("leaves absent fields undefined", () => {
    expect(parseHostState("current=\nprofile=\ngeneration=\nswitched=\n---\n")).toEqual({
      current: undefined,
      profile: undefined,
      generation: undefined,
      switchedAt: undefined,
      history: [],
      systemd: false,
    });
  });
});

describe("assess", () => {
  it("is up to date when the host runs and boots the desired system", () => {
    expect(assess(node, A, state(A, [record(A)]), true)).toMatchObject({
      verdict: "up-to-date",
      switchedBy: "alice@laptop",
    });
  });

  it("blames the hive when the host still runs what hive deployed", () => {
    const s = assess(node, B, state(A, [record(A)]), true);
    expect(s.verdict).toBe("drifted");
    expect(s.reason).toMatch(/the hive has changed since alice@laptop deployed it/);
    expect(s.since).toBeUndefined();
  });

  it("dates a change made behind hive's back from the switch", () => {
    const C = A.replace("aaaa", "cccc");
    const s = assess(node, B, state(C, [record(A)]), true);
    expect(s.reason).toMatch(/changed outside hive after the last deploy by alice@laptop/);
    expect(s.since?.toISOString()).toBe("2026-11-21T00:00:00.000Z");
  });

  it("calls a profile neither in the history nor in this store unknown", () => {
    expect(assess(node, B, state(A), false).verdict).toBe("unknown-profile");
    expect(assess(node, B, state(A, [record(A, "failed")]), false).verdict).toBe("drifted");
  });

  it("says when the desired system only waits for a reboot", () => {
    expect(assess(node, B, state(A, [], B), true).reason).toMatch(/boots the desired system but runs another/);
  });
});
