/**
 * A libnl socket on `NETLINK_RDMA`, and the `RDMA_NL_NLDEV` requests the plugin makes: read the
 * subsystem's netns mode, list the RDMA devices, move one into another network namespace.
 *
 * libnl has no RDMA API, so the requests are built with its core message API
 * (`nlmsg_alloc_simple`, `nla_put_u32`) and the replies are copied out and read in JS. An NLDEV
 * message has no family header: the attributes follow the `struct nlmsghdr` directly.
 *
 * @module
 */

import { openLibnl } from "./libnl.ts";
import {
  attributes,
  attributeString,
  attributeU32,
  attributeU8,
  copyMessage,
  LibnlSocket,
  messageHeader,
  NLMSG_HDRLEN,
  receiveMessages,
} from "./netlink_message.ts";
import { NetlinkError, NleCode, unwrap, unwrapPointer } from "./unwrap.ts";

/** `<linux/netlink.h>`: the RDMA protocol; without ib_core, `socket()` gets EPROTONOSUPPORT. */
const NETLINK_RDMA = 20;
/** `<linux/netlink.h>` */
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
/** `<rdma/rdma_netlink.h>`: a client; `RDMA_NL_GET_TYPE(client, op)` is `client << 10 | op`. */
const RDMA_NL_NLDEV = 5;
/** `<rdma/rdma_netlink.h>`, `enum rdma_nldev_command` */
const RDMA_NLDEV_CMD_GET = 1;
const RDMA_NLDEV_CMD_SET = 2;
const RDMA_NLDEV_CMD_SYS_GET = 6;
/** `<rdma/rdma_netlink.h>`, `enum rdma_nldev_attr` */
const RDMA_NLDEV_ATTR_DEV_INDEX = 1; // u32
const RDMA_NLDEV_ATTR_DEV_NAME = 2; // string
const RDMA_NLDEV_SYS_ATTR_NETNS_MODE = 66; // u8: the kernel's ib_devices_shared_netns
const RDMA_NLDEV_NET_NS_FD = 68; // u32

/** The RDMA subsystem's network namespace mode (`rdma system show netns`). */
export type RdmaNetnsMode = "exclusive" | "shared";

/** The netns mode the kernel reports: `ib_devices_shared_netns`, 1 shared and 0 exclusive. */
const NETNS_MODES: Readonly<Record<number, RdmaNetnsMode>> = { 0: "exclusive", 1: "shared" };

export interface RdmaDeviceEntry {
  /** `RDMA_NLDEV_ATTR_DEV_INDEX`: what `RDMA_NLDEV_CMD_SET` addresses the device by. */
  index: number;
  /** `RDMA_NLDEV_ATTR_DEV_NAME`, e.g. `mlx5_3`. */
  name: string;
}

/** The NLDEV requests {@linkcode RdmaSocket} sends. */
export type NldevRequest =
  /** `RDMA_NLDEV_CMD_SYS_GET`: the subsystem's settings. */
  | { op: "sys-get" }
  /** `RDMA_NLDEV_CMD_GET` with `NLM_F_DUMP`: every device in the socket's namespace. */
  | { op: "dump-devices" }
  /** `RDMA_NLDEV_CMD_SET` of `RDMA_NLDEV_NET_NS_FD`: move device `index` into namespace `nsFd`. */
  | { op: "set-netns"; index: number; nsFd: number };

/**
 * Each request's command and flags: those `nl_send_auto()` would leave on the wire (it adds
 * `NLM_F_REQUEST | NLM_F_ACK` and fills in the sequence number and port); a dump gets no ACK
 * from the kernel despite `NLM_F_ACK`: `NLMSG_DONE` ends it.
 */
const REQUESTS: Record<NldevRequest["op"], [command: number, flags: number]> = {
  "sys-get": [RDMA_NLDEV_CMD_SYS_GET, NLM_F_REQUEST | NLM_F_ACK],
  "dump-devices": [RDMA_NLDEV_CMD_GET, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP],
  "set-netns": [RDMA_NLDEV_CMD_SET, NLM_F_REQUEST | NLM_F_ACK],
};

/** An NLDEV message type: `RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, op)`. */
function nldevType(op: number): number {
  return (RDMA_NL_NLDEV << 10) + op;
}

/** Builds a request with libnl: a `struct nl_msg *` the caller frees with `nlmsg_free()`. */
function buildRequest(request: NldevRequest): Deno.PointerObject {
  const { core } = openLibnl();
  const [command, flags] = REQUESTS[request.op];
  const msg = unwrapPointer(core.nlmsg_alloc_simple(nldevType(command), flags));
  if (request.op !== "set-netns") return msg;
  try {
    // No RDMA_NLDEV_ATTR_DEV_NAME: with a name, the kernel would also rename the device.
    unwrap(core.nla_put_u32(msg, RDMA_NLDEV_ATTR_DEV_INDEX, request.index));
    unwrap(core.nla_put_u32(msg, RDMA_NLDEV_NET_NS_FD, request.nsFd));
    return msg;
  } catch (error) {
    core.nlmsg_free(msg);
    throw error;
  }
}

/**
 * Builds a request as {@linkcode RdmaSocket} does and copies out its bytes (`nlmsg_hdr()`,
 * `nlmsg_len` long, host byte order), without the sequence number and port that sending fills
 * in. For checking the encoding without RDMA hardware.
 */
export function encodeRequest(request: NldevRequest): Uint8Array {
  const { core } = openLibnl();
  const msg = buildRequest(request);
  try {
    return copyMessage(unwrapPointer(core.nlmsg_hdr(msg)));
  } finally {
    core.nlmsg_free(msg);
  }
}

/** The attributes of an NLDEV reply of type `op`, or a parse error naming what was expected. */
function replyAttributes(
  message: Uint8Array,
  op: number,
  what: string,
): Array<[number, Uint8Array]> {
  const header = messageHeader(message);
  if (header === null || header.type !== nldevType(op)) {
    throw new NetlinkError(NleCode.ParseErr, `malformed ${what} reply`);
  }
  return attributes(message, NLMSG_HDRLEN, header.length);
}

/**
 * Reads the netns mode from an `RDMA_NLDEV_CMD_SYS_GET` reply, the whole message as the kernel
 * sent it.
 *
 * @throws {NetlinkError} `NLE_PARSE_ERR` when it is not a SYS_GET reply, has no
 *   `RDMA_NLDEV_SYS_ATTR_NETNS_MODE`, or names a mode other than 0 and 1.
 */
export function parseNetnsMode(message: Uint8Array): RdmaNetnsMode {
  const attrs = replyAttributes(message, RDMA_NLDEV_CMD_SYS_GET, "RDMA_NLDEV_CMD_SYS_GET");
  const payload = attrs.find(([type]) => type === RDMA_NLDEV_SYS_ATTR_NETNS_MODE)?.[1];
  const value = payload === undefined ? null : attributeU8(payload);
  if (value === null) throw new NetlinkError(NleCode.ParseErr, "no netns mode in the reply");
  const mode = NETNS_MODES[value];
  if (mode === undefined) throw new NetlinkError(NleCode.ParseErr, `unknown netns mode ${value}`);
  return mode;
}

/**
 * Reads one device from an `RDMA_NLDEV_CMD_GET` reply (one message of a dump).
 *
 * @throws {NetlinkError} `NLE_PARSE_ERR` when it is not a GET reply or lacks the index or name.
 */
export function parseDevice(message: Uint8Array): RdmaDeviceEntry {
  const attrs = replyAttributes(message, RDMA_NLDEV_CMD_GET, "RDMA_NLDEV_CMD_GET");
  const indexPayload = attrs.find(([type]) => type === RDMA_NLDEV_ATTR_DEV_INDEX)?.[1];
  const namePayload = attrs.find(([type]) => type === RDMA_NLDEV_ATTR_DEV_NAME)?.[1];
  const index = indexPayload === undefined ? null : attributeU32(indexPayload);
  if (index === null || namePayload === undefined) {
    throw new NetlinkError(NleCode.ParseErr, "RDMA device without index or name");
  }
  return { index, name: attributeString(namePayload) };
}

/**
 * A `NETLINK_RDMA` {@linkcode LibnlSocket}. Each method throws {@linkcode NetlinkError} when libnl
 * or the kernel refuses, or the reply does not parse.
 */
export class RdmaSocket extends LibnlSocket {
  /**
   * Connects to `NETLINK_RDMA` in the current namespace: `NLE_PROTO_MISMATCH` (EPROTONOSUPPORT)
   * when the kernel has no RDMA netlink, because `ib_core` is not loaded.
   */
  constructor() {
    super(NETLINK_RDMA);
  }

  #send(request: NldevRequest): void {
    const { core } = openLibnl();
    const msg = buildRequest(request);
    try {
      unwrap(core.nl_send_auto(this.sk, msg));
    } finally {
      core.nlmsg_free(msg);
    }
  }

  /**
   * The subsystem's netns mode (`RDMA_NLDEV_CMD_SYS_GET`; kernels before 5.2 have none). The mode
   * is global: any namespace's socket gives the same answer.
   */
  netnsMode(): RdmaNetnsMode {
    const { core } = openLibnl();
    // An error reply is also the request's ACK.
    this.#send({ op: "sys-get" });
    const { rc, messages } = receiveMessages(this.sk);
    unwrap(rc);
    // The reply is followed by the ACK that NLM_F_ACK asked for; consume it.
    unwrap(core.nl_wait_for_ack(this.sk));
    const reply = messages[0];
    if (reply === undefined) {
      throw new NetlinkError(NleCode.ParseErr, "no RDMA_NLDEV_CMD_SYS_GET reply");
    }
    return parseNetnsMode(reply);
  }

  /**
   * The RDMA devices of the socket's namespace (`RDMA_NLDEV_CMD_GET` dump), in the kernel's
   * order. In shared mode every namespace sees every device.
   */
  devices(): RdmaDeviceEntry[] {
    this.#send({ op: "dump-devices" });
    const { rc, messages } = receiveMessages(this.sk);
    unwrap(rc);
    return messages.map(parseDevice);
  }

  /**
   * Moves a device into another network namespace (`RDMA_NLDEV_CMD_SET` with
   * `RDMA_NLDEV_NET_NS_FD`) and waits for the ACK. The kernel finds the device by index in the
   * socket's namespace: `NLE_INVAL` for an index that is not there, `NLE_OPNOTSUPP` in shared mode
   * or for a device that cannot move.
   */
  setNetns(index: number, nsFd: number): void {
    this.#send({ op: "set-netns", index, nsFd });
    unwrap(openLibnl().core.nl_wait_for_ack(this.sk));
  }
}
