import assert from "node:assert/strict";
import {
  align,
  attributes,
  attributeString,
  attributeU32,
  attributeU8,
  messageHeader,
} from "../../../ffi/netlink_message.ts";
import { attr, concat, message, str, u32, u8 } from "../../netlink_bytes.ts";

Deno.test("align() rounds up to 4 bytes", () => {
  assert.deepEqual([0, 1, 4, 5, 7, 8].map(align), [0, 4, 4, 8, 8, 8]);
});

Deno.test("messageHeader() reads length, type and flags, and refuses a short message", () => {
  const m = message(0x1401, 0x2, [attr(1, u32(3))]);
  assert.deepEqual(messageHeader(m), { length: 24, type: 0x1401, flags: 0x2 });
  assert.equal(messageHeader(m.subarray(0, 15)), null);
  assert.equal(messageHeader(m.subarray(0, 20)), null, "shorter than nlmsg_len");
  const lying = m.slice();
  new DataView(lying.buffer).setUint32(0, 8, true);
  assert.equal(messageHeader(lying), null, "nlmsg_len below the header size");
});

Deno.test("attributes() steps over padding, masks flag bits and stops at an overrun", () => {
  const overrun = attr(9, u32(1));
  new DataView(overrun.buffer).setUint16(0, 64, true);
  const bytes = concat([attr(2, str("ib")), attr(66 | 0x8000, u8(1)), attr(1, u32(7)), overrun]);
  const found = attributes(bytes, 0, bytes.length);
  assert.deepEqual(found.map(([type]) => type), [2, 66, 1]);
  assert.deepEqual(found.map(([, p]) => p.length), [3, 1, 4]);
});

Deno.test("attributeString(), attributeU32() and attributeU8() decode and check sizes", () => {
  assert.equal(attributeString(str("mlx5_3")), "mlx5_3");
  assert.equal(attributeString(new TextEncoder().encode("no-nul")), "no-nul");
  assert.equal(attributeU32(u32(0xfffffffe)), 0xfffffffe);
  assert.equal(attributeU32(u8(1)), null);
  assert.equal(attributeU8(u8(1)), 1);
  assert.equal(attributeU8(u32(1)), null);
});
