import { z } from "zod";
import { HiveError } from "./errors.js";
import { parseNodeName, type NodeName } from "./ids.js";

/**
 * What crosses from `nix eval` into hive: validated here into typed values, with messages that
 * name the node and the option. Version of the Nix/TypeScript contract: bump it (in both
 * `evaluator.nix` callers and here) when a query's shape changes.
 */
export const EVAL_SCHEMA_VERSION = 2;

const keySchema = z.object({
  // The key's file name on the target: one path component.
  name: z
    .string()
    .min(1)
    .refine(
      (n) => !n.includes("/") && !n.includes("\0") && n !== "." && n !== "..",
      "must be a file name (no '/', not '.' or '..')",
    ),
  source: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("text") }),
    z.object({ kind: z.literal("file"), path: z.string() }),
    z.object({ kind: z.literal("command"), argv: z.array(z.string()).min(1) }),
  ]),
  destDir: z
    .string()
    .startsWith("/", "must be an absolute path")
    .refine(
      (d) => !d.includes("\0") && !d.split("/").some((part) => part === ".." || part === "."),
      "must not contain '.' or '..'",
    ),
  // Derived from destDir and name (as in Colmena, where it is read-only): never a way around them.
  path: z.string(),
  user: z.string(),
  group: z.string(),
  permissions: z.string().regex(/^0?[0-7]{3,4}$/, "must be an octal mode such as 0600"),
  uploadAt: z.enum(["pre-activation", "post-activation"]),
});

// hive extension: a check run after an activation and before it is confirmed; a command on the
// host, or an HTTP request from the deployer or from the host.
const healthCheckSchema = z
  .object({
    name: z.string().min(1),
    cmd: z.array(z.string()).min(1).nullable(),
    http: z.string().min(1).nullable(),
    from: z.enum(["deployer", "host"]),
    status: z.number().int(),
    body: z.string().nullable(),
    timeout: z.number().int().min(1),
    retries: z.number().int().min(0),
    interval: z.number().int().min(0),
    initialDelay: z.number().int().min(0),
  })
  .refine((c) => (c.cmd === null) !== (c.http === null), "must set exactly one of cmd and http");

/** An address peers can reach over the fleet's network: a host name or an IP literal, never an option. */
const peerAddress = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.:_-]*$/, "must be a host name or an IP address (letters, digits, . : _ -)");

export const fanOutSchema = z.object({
  address: peerAddress,
  port: z.number().int().min(1).max(65535),
  group: z.string().min(1),
});

const deploymentSchema = z.object({
  targetHost: z.string().min(1).nullable(),
  targetPort: z.number().int().min(1).max(65535).nullable(),
  targetUser: z.string().min(1).nullable(),
  allowLocalDeployment: z.boolean(),
  buildOnTarget: z.boolean(),
  tags: z.array(z.string()),
  keys: z.record(z.string(), keySchema),
  replaceUnknownProfiles: z.boolean(),
  privilegeEscalationCommand: z.array(z.string()),
  sshOptions: z.array(z.string()),
  // hive extension: keep a switch only if hive can confirm it over a new connection (default on).
  magicRollback: z.boolean().optional(),
  // hive extension: sudo on this node asks for a password, which hive asks for once on the terminal.
  interactiveSudo: z.boolean().optional(),
  // hive extension: after a switch, fail (and roll back) when a systemd unit failed that had not before.
  checkFailedUnits: z.boolean().optional(),
  healthChecks: z.array(healthCheckSchema).optional(),
  // hive extension: which SSH reaches the node (--ssh for this node alone).
  sshTransport: z.enum(["auto", "ssh2", "openssh"]).optional(),
  // hive extension: where peers reach this host to copy store paths to it (--fan-out), and with whom.
  fanOut: fanOutSchema.nullable().optional(),
});

export type HealthCheck = z.infer<typeof healthCheckSchema>;

export type NodeKey = z.infer<typeof keySchema>;
export type KeySource = NodeKey["source"];
export type Deployment = z.infer<typeof deploymentSchema>;

export interface NodeConfig {
  name: NodeName;
  deployment: Deployment;
  /** Who set each deployment field, where an inventory (hive.yaml) is in play: "node", "hive.yaml:LINE". */
  sources?: Readonly<Record<string, string>>;
}

const metaSchema = z.object({
  name: z.string(),
  description: z.string(),
  machinesFile: z.string().nullable(),
  allowApplyAll: z.boolean(),
  // hive extension: the rollout policy apply uses unless the command line says otherwise.
  rollout: z
    .object({
      canary: z.string().nullable(),
      waves: z.string().nullable(),
      maxFailures: z.string().nullable(),
      soak: z.string().nullable(),
      rollbackOnHalt: z.boolean(),
    })
    .optional(),
  // hive extension: push through the operator's binary cache (--via-cache unless the command line says otherwise).
  viaCache: z
    .object({
      url: z.string().min(1),
      publicKey: z.string().min(1).nullable(),
      substituter: z.string().min(1).nullable(),
    })
    .nullable()
    .optional(),
});
export type HiveMeta = z.infer<typeof metaSchema>;

const infoSchema = z.object({
  schema: z.number(),
  source: z.enum(["hive", "colmenaHive", "nixosConfigurations"]),
  nodes: z.array(z.string()),
  meta: metaSchema,
});

export interface HiveInfo {
  source: "hive" | "colmenaHive" | "nixosConfigurations";
  nodes: NodeName[];
  meta: HiveMeta;
}

function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      return `${prefix}${path === "" ? "" : `.${path}`}: ${issue.message}`;
    })
    .join("; ");
}

export function parseDeployment(node: NodeName, raw: unknown): Deployment {
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new HiveError("HIVE_EVAL_INVALID", `node ${node}: ${describeIssues(parsed.error, "deployment")}`, {
      hint: "the hive's evaluator returned data hive does not understand; is the colmenaHive from a compatible Colmena?",
    });
  }
  for (const key of Object.values(parsed.data.keys)) key.path = `${key.destDir.replace(/\/+$/, "")}/${key.name}`;
  return parsed.data;
}

export function parseHiveInfo(raw: unknown): HiveInfo {
  const parsed = infoSchema.safeParse(raw);
  if (!parsed.success) throw new HiveError("HIVE_EVAL_INVALID", `hive info: ${describeIssues(parsed.error, "info")}`);
  if (parsed.data.schema !== EVAL_SCHEMA_VERSION) {
    throw new HiveError(
      "HIVE_EVAL_INVALID",
      `the hive evaluator speaks schema ${parsed.data.schema}, this hive expects ${EVAL_SCHEMA_VERSION}`,
    );
  }
  const nodes = parsed.data.nodes.map((name) => {
    try {
      return parseNodeName(name);
    } catch (error) {
      throw new HiveError(
        "HIVE_INVALID_NODE_NAME",
        `the hive has a node named ${JSON.stringify(name)}, which hive will not deploy`,
        {
          hint: "node names become host names and file names: use letters, digits, '_', '-' and '.', not starting with '-' or '.'",
          cause: error,
        },
      );
    }
  });
  return { source: parsed.data.source, nodes, meta: parsed.data.meta };
}
