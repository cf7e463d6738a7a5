import assert from "node:assert/strict";
import { CniError } from "../lib/cni/errors.ts";

/**
 * Runs `fn` and asserts it throws a `CniError` with `code` and a message equal to `msg` (or
 * matching it, for a RegExp). Returns the error for further assertions.
 *
 * @param fn the code under test
 * @param code the expected CNI code
 * @param msg the expected message
 * @returns the caught error
 */
export function assertCniError(fn: () => unknown, code: number, msg: string | RegExp): CniError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return checkCniError(caught, code, msg);
}

/**
 * Like {@link assertCniError} for a promise.
 *
 * @param promise the code under test
 * @param code the expected CNI code
 * @param msg the expected message
 * @returns the caught error
 */
export async function assertRejectsCniError(
  promise: Promise<unknown>,
  code: number,
  msg: string | RegExp,
): Promise<CniError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  return checkCniError(caught, code, msg);
}

function checkCniError(caught: unknown, code: number, msg: string | RegExp): CniError {
  assert.ok(caught instanceof CniError, `expected a CniError, got ${String(caught)}`);
  assert.equal(caught.code, code, `code of "${caught.message}"`);
  if (typeof msg === "string") assert.equal(caught.message, msg);
  else assert.match(caught.message, msg);
  return caught;
}
