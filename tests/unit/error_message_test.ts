import assert from "node:assert/strict";
import { NetlinkError } from "../../ffi/unwrap.ts";
import { errorMessage, errorReason } from "../../lib/error_message.ts";
import { NetnsError } from "../../lib/netlink/netlink.ts";

Deno.test("errorReason() gives a lower layer's reason without its context", () => {
  const netlink = new NetlinkError('Cannot rename link "ib0" in netns "/x": Object busy', {
    code: 25,
    op: "Cannot rename link",
    subject: '"ib0" in netns "/x"',
    reason: "Object busy",
  });
  assert.equal(errorReason(netlink), "Object busy");
  const netns = new NetnsError("missing", "/y", 'Cannot open netns "/y": no such file', {
    reason: "no such file",
  });
  assert.equal(errorReason(netns), "no such file");
});

Deno.test("errorReason() falls back to the message of an error without a reason", () => {
  assert.equal(errorReason(new Error("boom")), "boom");
  assert.equal(errorReason("a string"), "a string");
  assert.equal(errorReason({ reason: "not an Error" }), "[object Object]");
  assert.equal(errorMessage(new Error("boom")), "boom");
});
