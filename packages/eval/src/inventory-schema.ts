import { z } from "zod";

/**
 * The shape of `hive.yaml`: deployment settings kept beside the flake, per node, per pattern of
 * node names, or for every node. Field names are Colmena's `deployment.*` names.
 */

const keyEntry = z
  .strictObject({
    keyFile: z.string().min(1).optional(),
    keyCommand: z.array(z.string()).min(1).optional(),
    // Never accepted: checked below, so the message can say why.
    text: z.unknown().optional(),
    destDir: z.string().startsWith("/", "must be an absolute path").optional(),
    user: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    permissions: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, "must be an octal mode such as 0600")
      .optional(),
    uploadAt: z.enum(["pre-activation", "post-activation"]).optional(),
  })
  .superRefine((key, ctx) => {
    if (key.text !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["text"],
        message: "secrets are never written inline in hive.yaml: use keyFile (a path) or keyCommand (a command)",
      });
      return;
    }
    if ((key.keyFile === undefined) === (key.keyCommand === undefined))
      ctx.addIssue({ code: "custom", message: "must set exactly one of keyFile and keyCommand" });
  });

const healthCheckEntry = z
  .strictObject({
    name: z.string().min(1),
    cmd: z.array(z.string()).min(1).optional(),
    http: z.string().min(1).optional(),
    from: z.enum(["deployer", "host"]).optional(),
    status: z.number().int().min(0).optional(),
    body: z.string().optional(),
    timeout: z.number().int().min(1).optional(),
    retries: z.number().int().min(0).optional(),
    interval: z.number().int().min(0).optional(),
    initialDelay: z.number().int().min(0).optional(),
  })
  .refine((c) => (c.cmd === undefined) !== (c.http === undefined), "must set exactly one of cmd and http");

export const nodeEntrySchema = z.strictObject({
  targetHost: z.string().min(1).nullable().optional(),
  targetPort: z.number().int().min(1).max(65535).nullable().optional(),
  targetUser: z.string().min(1).nullable().optional(),
  allowLocalDeployment: z.boolean().optional(),
  buildOnTarget: z.boolean().optional(),
  tags: z.array(z.string().min(1)).optional(),
  replaceUnknownProfiles: z.boolean().optional(),
  privilegeEscalationCommand: z.array(z.string()).optional(),
  sshOptions: z.array(z.string()).optional(),
  magicRollback: z.boolean().optional(),
  interactiveSudo: z.boolean().optional(),
  checkFailedUnits: z.boolean().optional(),
  healthChecks: z.array(healthCheckEntry).optional(),
  sshTransport: z.enum(["auto", "ssh2", "openssh"]).optional(),
  fanOut: z
    .strictObject({
      address: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      group: z.string().min(1).optional(),
    })
    .nullable()
    .optional(),
  keys: z.record(z.string(), keyEntry).optional(),
});

const count = z.union([z.number().int().min(0), z.string().min(1)]);

// `h1:` with nothing under it (YAML null) is an entry that sets nothing.
const entry = z.preprocess((v) => (v === null ? {} : v), nodeEntrySchema);

export const inventorySchema = z.strictObject({
  defaults: entry.optional(),
  nodes: z.record(z.string(), entry).optional(),
  rollout: z
    .strictObject({
      canary: count.optional(),
      waves: count.optional(),
      maxFailures: count.optional(),
      soak: count.optional(),
      rollbackOnHalt: z.boolean().optional(),
    })
    .optional(),
  viaCache: z
    .strictObject({
      url: z.string().min(1),
      publicKey: z.string().min(1).optional(),
      substituter: z.string().min(1).optional(),
    })
    .optional(),
});

export type NodeEntry = z.infer<typeof nodeEntrySchema>;
export type KeyEntry = z.infer<typeof keyEntry>;
export type HealthCheckEntry = z.infer<typeof healthCheckEntry>;
export type InventoryData = z.infer<typeof inventorySchema>;

/** The deployment fields an inventory sets, in the order `hive nodes` shows their sources. */
export const INVENTORY_FIELDS = [
  "targetHost",
  "targetPort",
  "targetUser",
  "allowLocalDeployment",
  "buildOnTarget",
  "tags",
  "replaceUnknownProfiles",
  "privilegeEscalationCommand",
  "sshOptions",
  "magicRollback",
  "interactiveSudo",
  "checkFailedUnits",
  "healthChecks",
  "sshTransport",
  "fanOut",
] as const satisfies readonly (keyof NodeEntry)[];
export type InventoryField = (typeof INVENTORY_FIELDS)[number];
