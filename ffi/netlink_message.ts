/**
 * Netlink messages in JS: reading the kernel's replies (`struct nlmsghdr`, `struct nlattr`) from
 * bytes; the libnl socket they travel on ({@linkcode LibnlSocket}), and receiving them raw.
 *
 * libnl parses only the families it knows (rtnetlink objects, generic netlink); for anything
 * else, such as `NETLINK_RDMA`, the plugin copies each reply out of libnl and reads it here. The
 * parsing helpers are pure and load no library; {@linkcode LibnlSocket} and
 * {@linkcode receiveMessages} load libnl on use.
 *
 * @module
 */

import { openLibnl } from "./libnl.ts";
import { unwrap, unwrapPointer } from "./unwrap.ts";

/** `<linux/netlink.h>`: messages and attributes are padded to 4 bytes. */
export const NLMSG_ALIGNTO = 4;
/** `<linux/netlink.h>`: `sizeof(struct nlmsghdr)`, already aligned. */
export const NLMSG_HDRLEN = 16;
/** `<linux/netlink.h>`: the attribute type without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`. */
const NLA_TYPE_MASK = ~(0x8000 | 0x4000);
/** `<netlink/handlers.h>` */
const NL_CB_DEFAULT = 0;
const NL_CB_CUSTOM = 3;
const NL_CB_VALID = 0;
const NL_OK = 0;
const NL_STOP = 2;

/** The signature of libnl's `nl_recvmsg_msg_cb_t`. */
const MESSAGE_CALLBACK = {
  parameters: ["pointer", "pointer"], // struct nl_msg *msg, void *arg
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

/** The signature of libnl's `nl_recvmsg_err_cb_t`. */
const ERROR_CALLBACK = {
  parameters: ["pointer", "pointer", "pointer"], // struct sockaddr_nl *, struct nlmsgerr *, void *
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

/** `struct nlmsghdr`: `nlmsg_len` (the whole message), `nlmsg_type`, `nlmsg_flags`. */
export interface MessageHeader {
  length: number;
  type: number;
  flags: number;
}

/** Rounds a length up to the netlink alignment of 4 (`NLMSG_ALIGN`, `NLA_ALIGN`). */
export function align(length: number): number {
  return (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/**
 * The header of one message as the kernel sent it (host byte order); `null` when the message is
 * shorter than a header or than the length the header declares.
 */
export function messageHeader(message: Uint8Array): MessageHeader | null {
  if (message.length < NLMSG_HDRLEN) return null;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const length = view.getUint32(0, true);
  if (length < NLMSG_HDRLEN || length > message.length) return null;
  return { length, type: view.getUint16(4, true), flags: view.getUint16(6, true) };
}

/**
 * The attributes of a message or a nested attribute's payload between two offsets, as
 * `[type, payload]` pairs, the type without its flag bits; a truncated attribute ends the list.
 */
export function attributes(
  bytes: Uint8Array,
  start: number,
  end: number,
): Array<[number, Uint8Array]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<[number, Uint8Array]> = [];
  let offset = start;
  while (offset + 4 <= end) {
    const length = view.getUint16(offset, true);
    if (length < 4 || offset + length > end) break;
    out.push([
      view.getUint16(offset + 2, true) & NLA_TYPE_MASK,
      bytes.subarray(offset + 4, offset + length),
    ]);
    offset += align(length);
  }
  return out;
}

/** Decodes a string attribute (`NLA_NUL_STRING`); a missing NUL ends it at the payload's end. */
export function attributeString(payload: Uint8Array): string {
  const nul = payload.indexOf(0);
  return new TextDecoder().decode(nul === -1 ? payload : payload.subarray(0, nul));
}

/** Decodes a `u32` attribute; `null` when the payload is not 4 bytes long. */
export function attributeU32(payload: Uint8Array): number | null {
  if (payload.length !== 4) return null;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
}

/** Decodes a `u8` attribute; `null` when the payload is not 1 byte long. */
export function attributeU8(payload: Uint8Array): number | null {
  return payload.length === 1 ? payload[0] ?? null : null;
}

/**
 * A libnl socket (`struct nl_sock *`) connected to one netlink protocol, bound to the network
 * namespace that the calling thread was in when it was created, whatever namespace the thread is
 * in later. Subclasses add the requests, reaching the native socket through `sk`.
 */
export abstract class LibnlSocket implements Disposable {
  #handle: Deno.PointerObject | null;

  /**
   * Connects to `NETLINK_<protocol>` in the current namespace.
   *
   * @throws {NetlinkError} `NLE_PROTO_MISMATCH` when the kernel does not know the protocol.
   * @throws {Error} When libnl cannot be loaded (see `openLibnl()`).
   */
  protected constructor(protocol: number) {
    const { core } = openLibnl();
    const sk = unwrapPointer(core.nl_socket_alloc());
    try {
      unwrap(core.nl_connect(sk, protocol));
    } catch (error) {
      core.nl_socket_free(sk);
      throw error;
    }
    this.#handle = sk;
  }

  /** The native socket, for the subclass's requests; throws once `close()` has run. */
  protected get sk(): Deno.PointerObject {
    if (this.#handle === null) throw new Error("netlink socket used after close()");
    return this.#handle;
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  close(): void {
    if (this.#handle === null) return;
    const sk = this.#handle;
    this.#handle = null;
    openLibnl().core.nl_socket_free(sk);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Receives the replies to the last request sent on `sk` with `nl_recvmsgs()` and copies each
 * data message out. libnl does the rest: it reads on through a multipart dump until
 * `NLMSG_DONE`, checks sequence numbers, and turns an `NLMSG_ERROR` into a negative `NLE_*` code.
 * The callbacks run synchronously on this thread, inside `nl_recvmsgs()`.
 *
 * @returns `rc`, what `nl_recvmsgs()` returned (negative on failure, for the caller to judge);
 *   the data messages received before it returned, each a copy that JS owns; and `errno`, the
 *   kernel's own errno of an error reply, which `rc` may not tell (EMSGSIZE is `NLE_FAILURE`).
 */
export function receiveMessages(
  sk: Deno.PointerObject,
): { rc: number; messages: Uint8Array[]; errno: number | undefined } {
  const { core } = openLibnl();
  const messages: Uint8Array[] = [];
  let errno: number | undefined;
  const cb = unwrapPointer(core.nl_cb_alloc(NL_CB_DEFAULT));
  const callback = new Deno.UnsafeCallback(MESSAGE_CALLBACK, (nlMsg) => {
    const header = nlMsg === null ? null : core.nlmsg_hdr(nlMsg);
    if (header !== null) messages.push(copyMessage(header));
    return NL_OK;
  });
  // struct nlmsgerr starts with the negated errno. NL_STOP makes libnl return its own code for
  // it, as without this callback.
  const onError = new Deno.UnsafeCallback(ERROR_CALLBACK, (_nla, error) => {
    if (error !== null) errno = -new Deno.UnsafePointerView(error).getInt32(0);
    return NL_STOP;
  });
  try {
    unwrap(core.nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, callback.pointer, null));
    unwrap(core.nl_cb_err(cb, NL_CB_CUSTOM, onError.pointer, null));
    return { rc: core.nl_recvmsgs(sk, cb), messages, errno };
  } finally {
    callback.close();
    onError.close();
    core.nl_cb_put(cb);
  }
}

/** Copies a message that libnl owns (`nlmsg_hdr()`, `nlmsg_len` long) into JS. */
export function copyMessage(header: Deno.PointerObject): Uint8Array {
  const length = new Deno.UnsafePointerView(header).getUint32(0);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(header, length).slice(0));
}
