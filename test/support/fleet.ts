import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { Testbed, type TestbedOptions } from "@hive/testbed";

/** A directory for one fleet of this test run (torn down with the run). */
export function fleetDir(): Promise<string> {
  return mkdtemp(join(inject("fleetRoot"), "fleet-"));
}

/** Starts a fleet before the file's tests and tears it down after them, whatever happened. */
export function useFleet(options: Omit<TestbedOptions, "dir">): () => Testbed {
  let fleet: Testbed | undefined;
  beforeAll(async () => {
    fleet = await Testbed.start({ ...options, dir: await fleetDir() });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  return () => {
    if (!fleet) throw new Error("the fleet is not up (beforeAll failed?)");
    return fleet;
  };
}
