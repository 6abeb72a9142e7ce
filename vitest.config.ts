import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests run against the sources; `tsc -b` checks the same code as built packages.
const packages = fileURLToPath(new URL("./packages/", import.meta.url));
const alias = [{ find: /^@hive\/([a-z]+)$/, replacement: `${packages}$1/src/index.ts` }];

/** Tests against a real fleet: each file brings up its own; two at a time fit two cores. */
function fleetProject(
  name: string,
  dir: string,
  testTimeout: number,
  groupOrder: number,
  only: { files?: string[]; env?: Record<string, string> } = {},
) {
  return {
    resolve: { alias },
    test: {
      name,
      include: only.files?.map((f) => `test/${dir}/${f}.test.ts`) ?? [`test/${dir}/**/*.test.ts`],
      ...(only.env ? { env: only.env } : {}),
      globalSetup: ["test/temp-setup.ts", "test/global-setup.ts"],
      testTimeout,
      hookTimeout: 120_000,
      maxWorkers: 2,
      sequence: { groupOrder },
    },
  };
}

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
          globalSetup: ["test/temp-setup.ts"],
          sequence: { groupOrder: 0 },
        },
      },
      fleetProject("integration", "integration", 120_000, 1),
      // The core of a deploy again, every host reached through the OpenSSH transport.
      fleetProject("openssh", "integration", 120_000, 1, {
        files: ["apply", "keys", "hive-exec", "fleet-status"],
        env: { HIVE_SSH: "openssh" },
      }),
      // Faults injected at chosen moments, each followed by the invariants.
      fleetProject("faults", "faults", 180_000, 2),
    ],
  },
});
