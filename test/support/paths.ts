import { fileURLToPath } from "node:url";

/** Built entry points (the test command builds before it tests). */
export const hiveBin = fileURLToPath(new URL("../../packages/cli/dist/main.js", import.meta.url));
export const testbedBin = fileURLToPath(new URL("../../packages/testbed/dist/cli.js", import.meta.url));
export const testbedModule = fileURLToPath(new URL("../../packages/testbed/dist/index.js", import.meta.url));
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
