/**
 * The CNI protocol, pure: environment, versions, results, errors and the dispatcher.
 * @module
 */
export * from "./dispatch.ts";
export * from "./env.ts";
export * from "./errors.ts";
export * from "./result.ts";
export * from "./versions.ts";
export { parseCniArgs } from "./cni_args.ts";
export { quote } from "./quote.ts";
