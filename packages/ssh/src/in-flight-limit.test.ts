import type { ClientChannel } from "ssh2";
import { describe, expect, it } from "vitest";
import { limitInFlight } from "./in-flight-limit.js";

const channel = (window: number) => ({ outgoing: { window, packetSize: 32768 } });
const limited = (c: { outgoing: { window: number } }, software: string | undefined, startMs: number) => {
  limitInFlight(c as unknown as ClientChannel, software, startMs);
  return c.outgoing.window;
};

describe("the data a streamed command keeps in flight", () => {
  it("is half of a near OpenSSH's window plus two packets", () => {
    expect(limited(channel(2 * 1024 * 1024), "OpenSSH_9.2p1 Debian-2+deb12u3", 0.3)).toBe(1024 * 1024 + 65536);
  });

  it("is the whole window on a far link, with another server, a small window, or before any command started", () => {
    expect(limited(channel(2 * 1024 * 1024), "OpenSSH_9.2p1", 40)).toBe(2 * 1024 * 1024);
    expect(limited(channel(2 * 1024 * 1024), "dropbear_2022.83", 0.3)).toBe(2 * 1024 * 1024);
    expect(limited(channel(65536), "OpenSSH_9.2p1", 0.3)).toBe(65536);
    expect(limited(channel(2 * 1024 * 1024), "OpenSSH_9.2p1", Infinity)).toBe(2 * 1024 * 1024);
  });
});
