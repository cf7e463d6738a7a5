import * as z from "zod/mini";

/**
 * The shape of an ib-sriov network config, for decoding one the config validator has accepted:
 * types only. The rules (formats, enums, required fields) and their messages are the validator's.
 * Keys are matched exactly; unknown keys are dropped, so the Go plugin's internal fields
 * (`Master`, `HostIFGUID`, …) can never be injected from stdin.
 */
export const netConfSchema = z.object({
  cniVersion: z.optional(z.string()),
  name: z.string(),
  type: z.optional(z.string()),
  deviceID: z.optional(z.string()),
  guid: z.optional(z.string()),
  pkey: z.optional(z.string()),
  link_state: z.optional(z.enum(["", "auto", "enable", "disable"])),
  rdmaIsolation: z.optional(z.boolean()),
  ibKubernetesEnabled: z.optional(z.boolean()),
  vfioPciMode: z.optional(z.boolean()),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(z.looseObject({})),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
  runtimeConfig: z.optional(
    z.looseObject({
      infinibandGUID: z.optional(z.string()),
      CNIDeviceInfoFile: z.optional(z.string()),
    }),
  ),
  args: z.optional(
    z.looseObject({
      cni: z.optional(
        z.catchall(
          z.object({
            guid: z.optional(z.string()),
            "mellanox.infiniband.app": z.optional(z.string()),
          }),
          z.unknown(),
        ),
      ),
    }),
  ),
  prevResult: z.optional(z.looseObject({})),
  logLevel: z.optional(z.enum(["error", "warning", "info", "debug"])),
  logFile: z.optional(z.string()),
});

export type NetConfInput = z.infer<typeof netConfSchema>;
