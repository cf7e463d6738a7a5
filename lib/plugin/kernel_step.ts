import { errorReason } from "../error_message.ts";
import { CniError, CniErrorCode } from "../cni/errors.ts";

/**
 * Runs one kernel operation and turns its failure into a `CniError` (code 101) whose message
 * says what was being done, so the operator reads "Cannot move link \"vfdev7\" to netns
 * \"/var/run/netns/pod\": Operation not permitted" rather than a bare errno.
 *
 * @param what the operation, in words, e.g. `Cannot move link "vfdev7" to netns "/x"`
 * @param fn the operation
 * @returns what `fn` returns
 * @throws {CniError} `fn`'s own `CniError` unchanged, anything else as code 101
 */
export function kernelStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asKernelError(what, err);
  }
}

/**
 * Wraps a thrown value as {@link kernelStep} does.
 *
 * @param what the operation that failed
 * @param err the thrown value
 * @returns the `CniError`
 */
export function asKernelError(what: string, err: unknown): CniError {
  if (err instanceof CniError) return err;
  const why = errorReason(err);
  return new CniError(CniErrorCode.KernelError, `${what}: ${why}`, { cause: err });
}
