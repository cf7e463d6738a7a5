import { isFileName } from "../path.ts";
import { quote } from "../cni/quote.ts";
import { StateError } from "./state_error.ts";

/**
 * Checks that `name` can be used as one path component inside a state directory. The plugin
 * validates container IDs, interface names and PCI addresses long before they reach here; this
 * is the last line of defence, so that no input can make us write outside the directory.
 *
 * @param name a container ID, interface name, PCI address or lock name
 * @param what what the name is, for the message (`container ID`, `PCI address`, …)
 * @throws {StateError} code `invalid-name` when `name` is empty, `.` or `..`, or contains `/`
 *   or NUL
 */
export function assertSafeName(name: string, what: string): void {
  if (!isFileName(name)) {
    throw new StateError(
      "invalid-name",
      name,
      `Invalid ${what} ${quote(name)}: cannot be used as a file name in the state directory`,
    );
  }
}
