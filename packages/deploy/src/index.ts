export { Deployment, type DeploymentOptions } from "./deployment.js";
export { failedResult } from "./failed-result.js";
export type { DeployNode } from "./deploy-node.js";
export { Host, type HostExecOptions } from "./host.js";
export { activate, type ActivationPlan, type ActivationResult } from "./activator.js";
export { ACTIVATION_DIR, HIVE_STATE_DIR, LOCK_FILE, SYSTEM_PROFILE, parseGeneration } from "./host-paths.js";
export { describeHolder, lockHost, LockHolderSchema, type HostLock, type LockHolder } from "./host-lock.js";
export { ACTIVATION_RUNNER } from "./activation-scripts.js";
export { copyClosure, missingOnTarget, type CopyOptions, type CopyResult } from "./copier.js";
export { TargetStore, type TargetState } from "./target-store.js";
export { activateNode, isUnchanged, knownHere, pushNode, type NodeDeployOptions } from "./node-deploy.js";
export { keyContent, uploadKeys, type KeySources } from "./keys.js";
export { rebootAndWait } from "./reboot.js";
export { SharedExporter } from "./shared-export.js";
export { authorizePeer, makeSenderKey, removeSenderKey, verifyPeerCopy, type SenderKey } from "./peer-copy.js";
export { ExportSplitter } from "./export-splitter.js";
export {
  appendHistory,
  parseHistory,
  DeployRecordSchema,
  HISTORY_FILE,
  HISTORY_SCHEMA_VERSION,
  type DeployOrigin,
  type DeployRecord,
} from "./history.js";
export { probeHost, parseHostState, type HostState } from "./host-state.js";
export { assess, VERDICTS, type NodeStatus, type Verdict } from "./drift.js";
export {
  compareVersions,
  describeChange,
  diffClosures,
  groupChanges,
  parseName,
  type ClosureDiff,
  type PackageChange,
  type SizedPath,
} from "./closure-diff.js";
export { closureWithSizes } from "./closure-sizes.js";
export { FleetRun, type DryRunRow, type FleetRunOptions } from "./fleet-run.js";
export { planChanges, type NodePlan, type PlannedNode } from "./plan.js";
export {
  checkNodes,
  execOnNodes,
  fleetStatus,
  type CheckOutcome,
  type ExecOutcome,
  type FanOutOptions,
} from "./fan-out.js";
export { checksBudgetSeconds, runHealthChecks, type CheckFailure } from "./health-checks.js";
export { planWaves, Rollout, type RolloutPolicy } from "./rollout.js";
export { publicKeyOf, type CacheSettings } from "./cache-relay.js";
