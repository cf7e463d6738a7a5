/** Longest value (in UTF-16 units) quoted verbatim in a message before it is cut. */
const MAX_QUOTED = 80;

/**
 * Quotes a user-supplied value for an error message: JSON string escaping makes control
 * characters, NULs and newlines visible instead of breaking the one-line message, and long
 * values are cut so a 1 MB env variable cannot flood a log: `"ib0"`, `"aaaa…" (1048576 chars)`.
 * Non-strings are written as JSON, unquoted.
 */
export function quote(value: unknown): string {
  if (typeof value !== "string") {
    const json = JSON.stringify(value) ?? String(value);
    return json.length <= MAX_QUOTED
      ? json
      : `${json.slice(0, MAX_QUOTED)}… (${json.length} chars)`;
  }
  if (value.length <= MAX_QUOTED) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED))}… (${value.length} chars)`;
}
