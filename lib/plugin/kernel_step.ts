import { kernelErrorToCni } from "./to_cni_error.ts";

/**
 * Runs one kernel operation and turns its failure into a `CniError` (code 101) whose message
 * says what was being done (see `kernelErrorToCni`).
 *
 * @param what the operation, in words, e.g. `Cannot move link "vfdev7" to netns "/x"`
 * @throws {CniError} `fn`'s own `CniError` unchanged, anything else as code 101
 */
export function kernelStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw kernelErrorToCni(what, err);
  }
}
