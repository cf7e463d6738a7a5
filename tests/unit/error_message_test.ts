import assert from "node:assert/strict";
import { NetlinkError } from "../../ffi/unwrap.ts";
import { errorMessage, errorReason } from "../../lib/error_message.ts";
import { LibcError } from "../../ffi/errno.ts";

Deno.test("errorReason() gives a lower layer's message, or the reason of an error with context", () => {
  assert.equal(errorReason(new NetlinkError(25, "Object busy")), "Object busy");
  assert.equal(errorReason(new LibcError("open", 2, "no such file")), "no such file");
  const withContext = Object.assign(new Error('Cannot open log file "/x": Is a directory'), {
    reason: "Is a directory",
  });
  assert.equal(errorReason(withContext), "Is a directory");
});

Deno.test("errorReason() falls back to the message of an error without a reason", () => {
  assert.equal(errorReason(new Error("boom")), "boom");
  assert.equal(errorReason("a string"), "a string");
  assert.equal(errorReason({ reason: "not an Error" }), "[object Object]");
  assert.equal(errorMessage(new Error("boom")), "boom");
});
