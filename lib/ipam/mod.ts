/**
 * Delegation to IPAM plugins: the only code that starts processes.
 *
 * @module
 */
export type { Ipam, IpamCommand, IpamRequest } from "./ipam.ts";
export { ExecIpam, type ExecIpamOptions } from "./exec_ipam.ts";
export { IpamError, type IpamErrorOptions, type IpamFailure } from "./ipam_error.ts";
