import type { Testbed } from "./fleet.js";

export interface HostStatus {
  name: string;
  port: number;
  sshd: "running" | "stopped";
  bootId: string;
  currentSystem: string | null;
  profileSystem: string | null;
}

/** What each host of a fleet is doing, read from its files (no ssh needed). */
export function describeFleet(fleet: Testbed): Promise<HostStatus[]> {
  return Promise.all(
    fleet.hosts.map(async (host) => ({
      name: host.name,
      port: host.port,
      sshd: (await host.sshdPid()) === undefined ? ("stopped" as const) : ("running" as const),
      bootId: await host.bootId(),
      currentSystem: (await host.currentSystem()) ?? null,
      profileSystem: (await host.profileSystem()) ?? null,
    })),
  );
}
