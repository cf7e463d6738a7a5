import assert from "node:assert/strict";
import { readCString, toCString } from "../../../ffi/c_string.ts";

Deno.test("toCString() encodes UTF-8 and appends one NUL", () => {
  assert.deepEqual(toCString("ib0"), new Uint8Array([0x69, 0x62, 0x30, 0]));
  assert.deepEqual(toCString("é"), new Uint8Array([0xc3, 0xa9, 0]));
  assert.deepEqual(toCString(""), new Uint8Array([0]));
});

Deno.test("toCString() rejects a string with a NUL character", () => {
  assert.throws(() => toCString("a\0b"), {
    name: "TypeError",
    message: 'Cannot pass "a\\u0000b" to C: it contains a NUL character',
  });
});

Deno.test("readCString() reads up to the NUL", () => {
  const bytes = toCString("mlx5_0");
  const ptr = Deno.UnsafePointer.of(bytes);
  assert.ok(ptr !== null);
  assert.equal(readCString(ptr), "mlx5_0");
  assert.equal(readCString(ptr, 64), "mlx5_0");
});

Deno.test("readCString() stops after max bytes when there is no NUL", () => {
  const bytes = new TextEncoder().encode("ibp59s0f0");
  const ptr = Deno.UnsafePointer.of(bytes);
  assert.ok(ptr !== null);
  assert.equal(readCString(ptr, 5), "ibp59");
  assert.equal(readCString(ptr, 0), "");
});
