/**
 * Conversions between JS strings and C strings, for every FFI wrapper in `ffi/`.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a string as a NUL-terminated UTF-8 C string, ready for a `"buffer"` parameter.
 *
 * @param s The string; it must not contain NUL, which C would read as its end.
 * @returns The UTF-8 bytes of `s` followed by one NUL byte.
 * @throws {TypeError} When `s` contains a NUL character.
 *
 * @example
 * ```ts
 * import { toCString } from "./c_string.ts";
 * toCString("ib0"); // Uint8Array [0x69, 0x62, 0x30, 0x00]
 * ```
 */
export function toCString(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new TypeError(`Cannot pass ${JSON.stringify(s)} to C: it contains a NUL character`);
  }
  const bytes = new Uint8Array(encoder.encode(s).length + 1);
  encoder.encodeInto(s, bytes);
  return bytes;
}

/**
 * Reads a NUL-terminated UTF-8 C string that native code owns.
 *
 * @param ptr Where the string starts.
 * @param max Most bytes to read when the string may lack its NUL (a fixed-size C array such as
 *   `d_name`); the string ends at the first NUL or after `max` bytes. Without it, reading stops
 *   only at the NUL.
 * @returns The decoded string, without its NUL.
 *
 * @example
 * ```ts ignore
 * import { readCString } from "./c_string.ts";
 * const name = readCString(direntNamePtr, 256);
 * ```
 */
export function readCString(ptr: Deno.PointerObject, max?: number): string {
  if (max === undefined) {
    return new Deno.UnsafePointerView(ptr).getCString();
  }
  // Byte by byte, so that nothing past the NUL is read: the bytes after it may be unmapped.
  const view = new Deno.UnsafePointerView(ptr);
  let length = 0;
  while (length < max && view.getUint8(length) !== 0) length++;
  const bytes = new Uint8Array(length);
  if (length > 0) view.copyInto(bytes);
  return decoder.decode(bytes);
}
