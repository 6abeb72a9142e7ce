import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { checkPrerequisites, DEFAULT_FLEET_ROOT, killProcesses, processesOfHostsUnder } from "@hive/testbed";

declare module "vitest" {
  export interface ProvidedContext {
    /** Every fleet of this test run lives below this directory. */
    fleetRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const problem = checkPrerequisites();
  if (problem !== undefined) throw new Error(`integration tests need the testbed: ${problem}`);
  await mkdir(DEFAULT_FLEET_ROOT, { recursive: true });
  const fleetRoot = await mkdtemp(join(DEFAULT_FLEET_ROOT, "test-run-"));
  project.provide("fleetRoot", fleetRoot);

  return async () => {
    // Every test tears its fleet down; a host still running here is a leak, and fails the run.
    const stray = await processesOfHostsUnder(fleetRoot);
    await killProcesses(() => processesOfHostsUnder(fleetRoot));
    await rm(fleetRoot, { recursive: true, force: true });
    if (stray.length > 0) throw new Error(`testbed processes outlived their tests: ${stray.join(", ")}`);
  };
}
