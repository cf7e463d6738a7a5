import type * as z from "zod/mini";
import { StateError } from "./state_error.ts";

/**
 * Parses the text of a state file as JSON.
 *
 * @param text the file's contents
 * @param path the file, for the message
 * @param what what the file holds, e.g. `attachment record`
 * @returns the parsed value
 * @throws {StateError} code `corrupt` when the text is not JSON
 */
export function decodeJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StateError("corrupt", path, `Cannot parse ${what} "${path}": not JSON`, {
      cause: err,
    });
  }
}

/**
 * The error map for state file schemas: says in words what is wrong with a field that has no
 * message of its own in its schema, `field "a.b" is not a string` or `field "a.b" is "x"`.
 * Pass it as `safeParse(raw, { error: describeIssue })`.
 *
 * @param issue the issue, with the field's path and value
 * @returns the description
 */
export function describeIssue(issue: z.core.$ZodRawIssue): string {
  const path = issue.path ?? [];
  if (path.length === 0) return "not a JSON object";
  const field = `field "${path.join(".")}"`;
  if (issue.code !== "invalid_type") return `${field} is ${JSON.stringify(issue.input)}`;
  const expected = issue.expected === "int" ? "integer" : issue.expected;
  return `${field} is not ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
}
