/**
 * Handcrafted netlink bytes for the parsing tests and the kernel tests' raw requests: attributes,
 * family headers and messages as the kernel lays them out (host byte order, little-endian here,
 * 4-byte padding).
 *
 * @module
 */

/**
 * Encodes one attribute, padded to 4 bytes.
 *
 * @param type The attribute type, flags included.
 * @param payload Its payload.
 * @returns `struct nlattr` and the payload.
 */
export function attr(type: number, payload: Uint8Array): Uint8Array {
  const length = 4 + payload.length;
  const out = new Uint8Array((length + 3) & ~3);
  const view = new DataView(out.buffer);
  view.setUint16(0, length, true);
  view.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

/**
 * @param text The string.
 * @returns A NUL-terminated string payload.
 */
export function str(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

/**
 * @param value The value.
 * @returns A u32 payload.
 */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/**
 * @param value The value.
 * @returns A u8 payload.
 */
export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

/**
 * Joins byte arrays.
 *
 * @param parts The arrays, in order.
 * @returns One array.
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A message: a `struct nlmsghdr` (length, type, flags, sequence 1, port 0), then the body.
 *
 * @param type `nlmsg_type`.
 * @param flags `nlmsg_flags`.
 * @param body What follows the header: a family header and attributes, or an error.
 * @returns The message.
 */
export function message(type: number, flags: number, body: Uint8Array[]): Uint8Array {
  const payload = concat(body);
  const out = new Uint8Array(16 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, 1, true);
  out.set(payload, 16);
  return out;
}

/**
 * A `struct ifinfomsg`: family 0 (`AF_UNSPEC`), type 0, then the index and flags; change 0.
 *
 * @param index `ifi_index`.
 * @param flags `ifi_flags` (`IFF_*`).
 * @returns The 16 bytes.
 */
export function ifinfomsg(index: number, flags: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setInt32(4, index, true);
  view.setUint32(8, flags, true);
  return out;
}

/**
 * A `struct ifla_vf_guid` (`IFLA_VF_IB_NODE_GUID`, `IFLA_VF_IB_PORT_GUID`): u32 vf, 4 bytes of
 * padding, u64 guid.
 *
 * @param vf The VF index.
 * @param guid The GUID.
 * @returns The 16 bytes; cut them with `subarray()` for a short struct.
 */
export function vfGuid(vf: number, guid: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, vf, true);
  view.setBigUint64(8, guid, true);
  return out;
}
