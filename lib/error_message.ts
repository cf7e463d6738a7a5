/**
 * The message of a thrown value, for wrapping it in a message that names the input: an `Error`'s
 * own message, anything else as text.
 *
 * @param err a thrown value
 * @returns its message
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What went wrong in a thrown value, without what was being done: the lower layers' errors say
 * only that (`NetlinkError`, `LibcError`, `RdmaError`, `NetnsError`, `PciDriverError`,
 * `SysfsError`), and an error whose message names its own step carries it as `reason`
 * (`StateError`). A caller that says what it was doing wraps this, so every message
 * states its step once and names the caller's inputs, not the lower layer's handles (such as
 * the host's `/proc/thread-self/ns/net`).
 *
 * @param err a thrown value
 * @returns its reason
 */
export function errorReason(err: unknown): string {
  if (err instanceof Error && "reason" in err && typeof err.reason === "string") return err.reason;
  return errorMessage(err);
}
