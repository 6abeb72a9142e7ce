export { HiveError, HIVE_ERROR_CODES, isHiveError, type HiveErrorCode, type HiveErrorOptions } from "./errors.js";
export { parseDrvPath, parseNodeName, parseStorePath, type DrvPath, type NodeName, type StorePath } from "./ids.js";
export {
  EVAL_SCHEMA_VERSION,
  parseDeployment,
  parseHiveInfo,
  type Deployment,
  type HealthCheck,
  type HiveInfo,
  type HiveMeta,
  type KeySource,
  type NodeConfig,
  type NodeKey,
} from "./node-config.js";
export {
  parseNodeFilter,
  RESERVED_NAMES,
  requireExplicitSelection,
  selectNodes,
  type FilterItem,
  type NodeFilter,
  type SelectableNode,
} from "./node-filter.js";
export type { ExecOptions, ExecResult, Transport } from "./transport.js";
export { spawnCommand } from "./spawn-command.js";
export { feedInput } from "./feed-input.js";
export { GOALS, GOAL_ALIASES, GOAL_TRAITS, parseGoal, type Goal, type GoalTraits } from "./goals.js";
export type { DeployEvent, DeployStep, NodeOutcomeKind, NodeResult } from "./events.js";
export { LineSplitter } from "./line-splitter.js";
export { knownHostsName } from "./known-hosts-name.js";
