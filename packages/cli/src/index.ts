export { buildCli } from "./cli.js";
export { HIVE_VERSION } from "./version.js";
