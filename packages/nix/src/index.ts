export {
  HIVE_NIX_CONFIG,
  NixCommandError,
  nixEnvironment,
  nixOptionArgs,
  runNix,
  runNixInteractive,
  streamNix,
  type NixOptions,
  type NixRun,
} from "./nix-command.js";
export { summarizeNixError } from "./nix-error.js";
export { localBuildSystems, readNixInfo, type NixInfo } from "./nix-info.js";
export {
  addGcRoot,
  closureOf,
  copyToStore,
  exportPaths,
  invalidPaths,
  narHashes,
  realiseDerivation,
  type PathInfo,
} from "./store.js";
export { LocalTransport } from "./local-transport.js";
export {
  ExportToServe,
  ServeReader,
  SERVE_MAGIC_2,
  SERVE_VERSION,
  greeting,
  queryValidPaths,
} from "./serve-protocol.js";
