export { HiveError, HIVE_ERROR_CODES, isHiveError, type HiveErrorCode, type HiveErrorOptions } from "./errors.js";
export { parseNodeName, parseStorePath, type NodeName, type StorePath } from "./ids.js";
