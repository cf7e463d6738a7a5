/**
 * Network config decoding and validation, pure.
 * @module
 */
export * from "./load_net_conf.ts";
export { MAX_CONFIG_BYTES } from "./limits.ts";
export { netConfSchema } from "./schema.ts";
