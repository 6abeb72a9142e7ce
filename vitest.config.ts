import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests run against the sources; `tsc -b` checks the same code as built packages.
const packages = fileURLToPath(new URL("./packages/", import.meta.url));
const alias = [{ find: /^@hive\/([a-z]+)$/, replacement: `${packages}$1/src/index.ts` }];

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
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/temp-setup.ts", "test/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file brings up its own fleet; two at a time fit two cores.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve: { alias },
        test: {
          // Faults injected at chosen moments, each followed by the invariants (test/faults/).
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          globalSetup: ["test/temp-setup.ts", "test/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
