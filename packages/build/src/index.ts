export { parseMachines, loadMachines, formatMachines, type Machine } from "./machines.js";
export { placeNode, describePlacement, machinesFor, type Placement, type BuildCapabilities } from "./placement.js";
export { planBuild, parseDryRun, closureToBuild, type BuildPlan, type DrvInfo } from "./derivations.js";
export { parseNixLogLine, type NixLogEvent } from "./nix-log.js";
export { BuildScheduler, type BuildProgress, type SchedulerOptions } from "./scheduler.js";
