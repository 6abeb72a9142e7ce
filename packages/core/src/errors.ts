/**
 * Every failure hive reports to a user has a code from this list; the CLI maps codes to hints
 * and exit codes. Programmer bugs stay plain Errors.
 */
export const HIVE_ERROR_CODES = [
  "HIVE_USAGE",
  "HIVE_INVALID_NODE_NAME",
  "HIVE_INVALID_STORE_PATH",
  "HIVE_UNKNOWN_NODE",
  "HIVE_NO_NODES_SELECTED",
  "HIVE_HIVE_NOT_FOUND",
  "HIVE_NIX_MISSING",
  "HIVE_NIX_FAILED",
  "HIVE_EVAL_FAILED",
  "HIVE_NODE_EVAL_FAILED",
  "HIVE_EVAL_INVALID",
  "HIVE_INVENTORY_INVALID",
  "HIVE_BUILD_FAILED",
  "HIVE_SSH_HOST_KEY_MISMATCH",
  "HIVE_SSH_HOST_KEY_UNKNOWN",
  "HIVE_SSH_CONFIG",
  "HIVE_SSH_CONNECT_FAILED",
  "HIVE_SSH_AUTH_FAILED",
  "HIVE_SSH_DISCONNECTED",
  "HIVE_PRIVILEGE_ESCALATION_FAILED",
  "HIVE_REMOTE_COMMAND_FAILED",
  "HIVE_ACTIVATION_FAILED",
  "HIVE_ROLLBACK_FAILED",
  "HIVE_HOST_LOCKED",
  "HIVE_NO_SPACE",
  "HIVE_PEER_CONTENT_MISMATCH",
  "HIVE_INTERRUPTED",
  "HIVE_UNKNOWN_PROFILE",
  "HIVE_KEY_FAILED",
] as const;

export type HiveErrorCode = (typeof HIVE_ERROR_CODES)[number];

export interface HiveErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class HiveError extends Error {
  readonly code: HiveErrorCode;
  readonly hint: string | undefined;

  constructor(code: HiveErrorCode, message: string, options: HiveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HiveError";
    this.code = code;
    this.hint = options.hint;
  }
}

export function isHiveError(error: unknown): error is HiveError {
  return error instanceof HiveError;
}
