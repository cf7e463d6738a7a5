import type * as z from "zod/mini";
import { StateError } from "./state_error.ts";

/**
 * Parses the text of a state file as JSON.
 *
 * @throws {StateError} code `corrupt`: `Cannot parse <what> "<path>": not JSON`
 */
export function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StateError("corrupt", path, `Cannot parse ${what} "${path}": not JSON`, {
      cause: err,
    });
  }
}

/**
 * Decodes a parsed state file with its schema. What is wrong with a field that has no message
 * of its own in its schema is said in words: `field "a.b" is not a string`, `field "a.b" is "x"`.
 *
 * @throws {StateError} code `corrupt`: `Cannot read <what> "<path>": <what is wrong>`
 */
export function decodeState<S extends z.ZodMiniType>(
  raw: unknown,
  path: string,
  what: string,
  schema: S,
): z.output<S> {
  const parsed = schema.safeParse(raw, { error: describeIssue });
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues[0]?.message ?? "";
  throw new StateError("corrupt", path, `Cannot read ${what} "${path}": ${message}`);
}

function describeIssue(issue: z.core.$ZodRawIssue): string {
  const path = issue.path ?? [];
  if (path.length === 0) return "not a JSON object";
  const field = `field "${path.join(".")}"`;
  if (issue.code !== "invalid_type") return `${field} is ${JSON.stringify(issue.input)}`;
  const expected = issue.expected === "int" ? "integer" : issue.expected;
  return `${field} is not ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
}
