import { errorReason } from "../error_message.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";
import type { IpamError } from "../ipam/ipam_error.ts";
import { StateError } from "../state/state_error.ts";

/**
 * The CNI error of a state directory failure: a lock not free in time is transient (11, the
 * runtime retries), a device held by another live attachment cannot be used (100), anything
 * else is the state directory's own failure (103). The message stays.
 */
export function stateErrorToCni(err: StateError): CniError {
  switch (err.code) {
    case "busy":
      return new CniError(CniErrorCode.TryAgainLater, err.message, {
        details: err.path,
        cause: err,
      });
    case "taken":
      return new CniError(CniErrorCode.DeviceError, err.message, { details: err.path, cause: err });
    default:
      return new CniError(CniErrorCode.StateError, err.message, {
        details: `state file ${err.path}`,
        cause: err,
      });
  }
}

/**
 * The CNI error of a delegated IPAM call: same code and details, and the message with its
 * context so that it names the IPAM plugin. The spec has a plugin pass its delegate's error on.
 */
export function ipamErrorToCni(err: IpamError): CniError {
  return new CniError(err.code, err.message, { details: err.details, cause: err });
}

/**
 * The CNI error of a failed kernel operation (netlink, sysfs, driver bind, RDMA): code 101 with
 * a message that says what was being done, so the operator reads "Cannot move link \"vfdev7\"
 * from the host netns to netns \"/var/run/netns/pod\": Operation not permitted" rather than a
 * bare errno. Only this layer adds context: the lower layers' errors say only what went wrong
 * (see `errorReason`). A `CniError` passes through unchanged.
 *
 * @param what the operation that failed, e.g. `Cannot move link "vfdev7" to netns "/x"`
 */
export function kernelErrorToCni(what: string, err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(CniErrorCode.KernelError, `${what}: ${errorReason(err)}`, { cause: err });
}

/**
 * Runs a command handler so that the state errors it throws reach the runtime with their CNI
 * code (see {@link stateErrorToCni}) rather than as 999.
 */
export async function withCniCodes<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw err instanceof StateError ? stateErrorToCni(err) : err;
  }
}
