/** The message of a thrown value: an `Error`'s own, anything else as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What went wrong in a thrown value, without what was being done: the lower layers' errors say
 * only that (`NetlinkError`, `LibcError`, `SysfsError`, ...), and an error whose message names its
 * own step carries it as `reason` (`StateError`). The caller says what it was doing, so
 * every message states its step once and names the caller's inputs.
 */
export function errorReason(err: unknown): string {
  if (err instanceof Error && "reason" in err && typeof err.reason === "string") return err.reason;
  return errorMessage(err);
}
