/** hive's exit codes (documented in the README and `hive --help`). */
export const EXIT = {
  ok: 0,
  /** Some nodes failed (or a --confirm plan was declined); the others were done. */
  nodesFailed: 1,
  /** The command line was wrong: unknown command or option, bad value, unknown node or tag. */
  usage: 2,
  /** The hive could not be found or evaluated as a whole (syntax, meta, nixpkgs), or Nix is missing. */
  hive: 3,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes: ${EXIT.ok} success, ${EXIT.nodesFailed} some nodes failed, ${EXIT.usage} usage error (incl. unknown nodes), ${EXIT.hive} hive or Nix error, ${EXIT.interrupted} interrupted. Error codes and hints: hive errors.`;
