const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a string as a NUL-terminated UTF-8 C string, for a `"buffer"` parameter.
 *
 * @throws {TypeError} When `s` contains a NUL character, which C would read as its end.
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
 * @param max Most bytes to read when the string may lack its NUL (a fixed-size C array such as
 *   `d_name`); without it, reading stops only at the NUL.
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
