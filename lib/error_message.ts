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
