export {
  Hive,
  type ChunkOptions,
  type EvaluatedNode,
  type IntrospectionExpression,
  type OpenHiveOptions,
} from "./hive.js";
export { resolveHiveSource, describeSource, type HiveSource } from "./hive-source.js";
export {
  parseEvalNodeLimit,
  resolveEvalLimits,
  availableMemory,
  type EvalLimits,
  type EvalNodeLimit,
} from "./eval-limits.js";
export { evaluateInChunks, type ChunkResult, type NodeOutcome } from "./chunked-eval.js";
export { ChunkPlanner } from "./chunk-planner.js";
export { gitState, type GitState } from "./git-state.js";
export { Inventory, INVENTORY_FILE, type FieldSources } from "./inventory.js";
export { INVENTORY_FIELDS, type InventoryField } from "./inventory-schema.js";
