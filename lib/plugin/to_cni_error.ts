/**
 * The one place the plugin layer picks CNI codes: each kind of failure has a constructor here,
 * and every plugin file reports through them, so a kind's code is written once. The lower layers
 * throw their own errors, which these map; `lib/cni` and `lib/config` give the protocol's codes
 * (1, 2, 4, 5, 6, 7) to the input they decode.
 *
 * @module
 */
import { errorReason } from "../error_message.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import type { IpamError, IpamFailure } from "../ipam/ipam_error.ts";
import { StateError } from "../state/state_error.ts";

type Options = { details?: string; cause?: unknown };

const failure = (code: number) => (msg: string, options?: Options): CniError =>
  new CniError(code, msg, options);

/** The config asks for what the node cannot give, beyond the validator's rules (7). */
export const configError = failure(CniErrorCode.InvalidNetworkConfig);
/** `CNI_IFNAME` cannot be used in the pod (4). */
export const ifnameError = failure(CniErrorCode.InvalidEnvironment);
/** `CNI_NETNS` cannot be used (8). */
export const netnsError = failure(CniErrorCode.InvalidNetns);
/** A condition that passes: the runtime retries (11). */
export const notYet = failure(CniErrorCode.TryAgainLater);
/** CHECK of an attachment that does not exist (3). */
export const noAttachment = failure(CniErrorCode.UnknownContainer);
/** STATUS: the plugin cannot serve ADD now (50). */
export const notAvailable = failure(CniErrorCode.PluginNotAvailable);
/** The device named by `deviceID` cannot be used (100). */
export const deviceError = failure(CniErrorCode.DeviceError);
/** A kernel step failed, or the kernel is not as the step needs it (101). */
export const kernelError = failure(CniErrorCode.KernelError);
/** The IPAM plugin failed without a code of its own (102). */
export const ipamError = failure(CniErrorCode.IpamError);
/** CHECK found the attachment missing or different from its result (104). */
export const checkFailed = failure(CniErrorCode.CheckFailed);

/**
 * The CNI error of a failed kernel operation (netlink, sysfs, driver bind, RDMA): code 101 with
 * a message that says what was being done, so the operator reads "Cannot move link \"vfdev7\"
 * from the host netns to netns \"/var/run/netns/pod\": Operation not permitted" rather than a
 * bare errno. Only this layer adds context: the lower layers' errors say only what went wrong
 * (see `errorReason`). A `CniError` passes through unchanged.
 */
export function stepError(what: string, err: unknown): CniError {
  if (err instanceof CniError) return err;
  return kernelError(`${what}: ${errorReason(err)}`, { cause: err });
}

/** Runs one kernel operation; its failure becomes {@link stepError}'s. */
export function kernelStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw stepError(what, err);
  }
}

/**
 * The CNI error of a state directory failure: a lock not free in time is transient (11, the
 * runtime retries), a device held by another live attachment cannot be used (100), anything
 * else is the state directory's own failure (103). The message stays.
 */
export function stateErrorToCni(err: StateError): CniError {
  switch (err.code) {
    case "busy":
      return notYet(err.message, { details: err.path, cause: err });
    case "taken":
      return deviceError(err.message, { details: err.path, cause: err });
    default:
      return new CniError(CniErrorCode.StateError, err.message, {
        details: `state file ${err.path}`,
        cause: err,
      });
  }
}

/** The code of an IPAM failure the delegate gave no code for. */
const IPAM_CODES: Record<IpamFailure, number> = {
  "invalid-type": CniErrorCode.InvalidNetworkConfig,
  "not-found": CniErrorCode.IpamError,
  "cannot-run": CniErrorCode.IpamError,
  "timed-out": CniErrorCode.TryAgainLater,
  "bad-output": CniErrorCode.IpamError,
  reported: CniErrorCode.IpamError,
};

/**
 * The CNI error of a delegated IPAM call: the delegate's own code, as the spec has a plugin pass
 * its delegate's error on, or the kind's; the message names the IPAM plugin.
 */
export function ipamErrorToCni(err: IpamError): CniError {
  const code = err.code ?? IPAM_CODES[err.kind];
  return new CniError(code, err.message, { details: err.details, cause: err });
}

/**
 * A command handler whose state errors reach the runtime with their CNI code (see
 * {@link stateErrorToCni}) rather than as 999.
 */
export function withCniCodes<A extends unknown[], T>(
  command: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  return async (...args) => {
    try {
      return await command(...args);
    } catch (err) {
      throw err instanceof StateError ? stateErrorToCni(err) : err;
    }
  };
}
