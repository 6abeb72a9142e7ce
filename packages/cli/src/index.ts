export { buildCli, HIVE_VERSION } from "./cli.js";
