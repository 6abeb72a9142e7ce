import type { HiveErrorCode } from "@hive/core";
import { EXIT } from "./exit-codes.js";

export interface ErrorEntry {
  /** The exit code hive ends with when this error stops a command. */
  exit: number;
  meaning: string;
  /** What to do about it, when the error itself does not say more. */
  hint: string;
}

/**
 * Every error code hive reports, with its exit code and a hint: the one place they are written
 * (printed by `hive errors`, checked against the README by a test).
 */
export const ERROR_TABLE: Record<HiveErrorCode, ErrorEntry> = {
  HIVE_USAGE: {
    exit: EXIT.usage,
    meaning: "the command line is wrong: unknown command or option, bad value",
    hint: "see hive COMMAND --help",
  },
  HIVE_INVALID_NODE_NAME: {
    exit: EXIT.hive,
    meaning: "a node name cannot be a host or file name",
    hint: "letters, digits, '_', '-' and '.', not starting with '-' or '.'",
  },
  HIVE_INVALID_STORE_PATH: {
    exit: EXIT.hive,
    meaning: "Nix or the hive gave something that is not a store path",
    hint: "check the hive's system.build.toplevel; run with --show-trace",
  },
  HIVE_UNKNOWN_NODE: {
    exit: EXIT.usage,
    meaning: "--on names a node or @tag the hive does not have",
    hint: "hive nodes lists the nodes and their tags",
  },
  HIVE_NO_NODES_SELECTED: {
    exit: EXIT.usage,
    meaning: "the selection is empty, or would deploy every node where meta.allowApplyAll = false",
    hint: "name the nodes with --on",
  },
  HIVE_HIVE_NOT_FOUND: {
    exit: EXIT.hive,
    meaning: "no flake.nix or hive.nix where hive looked",
    hint: "run hive from the hive's directory, or name it with -f",
  },
  HIVE_NIX_MISSING: {
    exit: EXIT.hive,
    meaning: "Nix is not installed or not on PATH",
    hint: "install Nix (Debian: apt install nix-bin)",
  },
  HIVE_NIX_FAILED: { exit: EXIT.hive, meaning: "a Nix command failed", hint: "the message has Nix's own error" },
  HIVE_EVAL_FAILED: {
    exit: EXIT.hive,
    meaning: "the hive as a whole does not evaluate (syntax, meta, nixpkgs)",
    hint: "run with --show-trace for Nix's full trace",
  },
  HIVE_NODE_EVAL_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "one node's configuration does not evaluate; the others go on",
    hint: "run with --show-trace; hive eval -E '{ nodes, ... }: ...' explores a node",
  },
  HIVE_EVAL_INVALID: {
    exit: EXIT.hive,
    meaning: "the hive evaluates to something that is not a hive (wrong types in deployment.*)",
    hint: "the message names the option; compare with Colmena's deployment options",
  },
  HIVE_INVENTORY_INVALID: {
    exit: EXIT.hive,
    meaning: "hive.yaml is not valid: YAML syntax, a wrong type, an unknown field or node",
    hint: "the message names the file, line and field; fields are Colmena's deployment.* names",
  },
  HIVE_BUILD_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "a node's system did not build; nodes that need the same derivation fail with it",
    hint: "nix log DRV shows the whole build log",
  },
  HIVE_SSH_HOST_KEY_MISMATCH: {
    exit: EXIT.nodesFailed,
    meaning: "the host's key differs from the one in known_hosts",
    hint: "if the host was reinstalled, remove its old key: ssh-keygen -R HOST",
  },
  HIVE_SSH_HOST_KEY_UNKNOWN: {
    exit: EXIT.nodesFailed,
    meaning: "the host's key is not known and StrictHostKeyChecking forbids adding it",
    hint: "ssh to it once to check and accept its key, or set StrictHostKeyChecking accept-new",
  },
  HIVE_SSH_CONFIG: {
    exit: EXIT.nodesFailed,
    meaning: "ssh_config or deployment.sshOptions cannot be used",
    hint: "ssh -G HOST shows what OpenSSH makes of it",
  },
  HIVE_SSH_CONNECT_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "the host cannot be reached over SSH",
    hint: "check deployment.targetHost/targetPort and that sshd runs: ssh -v HOST",
  },
  HIVE_SSH_AUTH_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "the host refused every key hive offered",
    hint: "load the key into ssh-agent or set IdentityFile for the host in ~/.ssh/config",
  },
  HIVE_SSH_DISCONNECTED: {
    exit: EXIT.nodesFailed,
    meaning: "the connection dropped during a step",
    hint: "run again: pushes resume from what the host already has",
  },
  HIVE_PRIVILEGE_ESCALATION_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "sudo (deployment.privilegeEscalationCommand) did not let the target user act as root",
    hint: "give the user NOPASSWD sudo, or deploy as root (deployment.targetUser)",
  },
  HIVE_REMOTE_COMMAND_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "a command on the host failed",
    hint: "the message has its output; hive exec --on NODE -- CMD runs commands there",
  },
  HIVE_ACTIVATION_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "switch-to-configuration failed, timed out or was cut off; hive restored the previous system",
    hint: "the message says what the host runs now and ends with the activation's output",
  },
  HIVE_ROLLBACK_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "an activation failed and restoring the previous system failed too: the host needs a person",
    hint: "the message says what the host runs and boots, and the commands that restore it by hand",
  },
  HIVE_HOST_LOCKED: {
    exit: EXIT.nodesFailed,
    meaning: "another deploy holds the host's lock (/nix/var/hive/deploy.lock); hive changed nothing on it",
    hint: "wait for that deploy to end; --break-lock takes the lock if you know its holder is gone",
  },
  HIVE_NO_SPACE: {
    exit: EXIT.nodesFailed,
    meaning: "the host's store has less free space than the paths to copy need; nothing was sent",
    hint: "free space on the host (nix-collect-garbage -d removes old generations), then run again",
  },
  HIVE_PEER_CONTENT_MISMATCH: {
    exit: EXIT.nodesFailed,
    meaning:
      "fan-out: a peer sent store paths whose content differs from what this machine built; the node was not activated",
    hint: "treat the peer as compromised; the message names the paths now in the host's store: delete or repair them before deploying it again",
  },
  HIVE_INTERRUPTED: {
    exit: EXIT.interrupted,
    meaning: "the run was interrupted (Ctrl-C, SIGTERM or SIGHUP)",
    hint: "run again: what finished stays done, and unchanged hosts are skipped",
  },
  HIVE_UNKNOWN_PROFILE: {
    exit: EXIT.nodesFailed,
    meaning: "the host's system profile was not deployed from here; hive will not replace it unasked",
    hint: "hive status shows what it runs; deployment.replaceUnknownProfiles or --force-replace-unknown-profiles",
  },
  HIVE_KEY_FAILED: {
    exit: EXIT.nodesFailed,
    meaning: "a deployment.keys entry could not be read or uploaded",
    hint: "check its keyFile or keyCommand on this machine, and its user and group on the host",
  },
};
