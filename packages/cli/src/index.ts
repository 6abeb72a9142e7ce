export { buildCli } from "./cli.js";
export { HIVE_VERSION } from "./version.js";
export { LiveRenderer } from "./live-renderer.js";
export { plainRenderer } from "./plain-renderer.js";
export { githubRenderer } from "./github-renderer.js";
export { useColour } from "./colour.js";
