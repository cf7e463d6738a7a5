/**
 * Native libnl handles behind small classes, and the netlink requests the plugin makes.
 *
 * {@linkcode NlSocket} is the only export that holds native memory. Its methods take and return
 * plain JS values; the libnl objects they need (`struct rtnl_link`, `struct rtnl_addr`,
 * `struct rtnl_route`, `struct nl_addr`, caches, messages) live inside one method call, each in a
 * {@linkcode Owned} wrapper released by `using`, so no raw pointer leaves this file.
 *
 * A netlink socket stays bound to the network namespace it was created in, whatever namespace
 * the thread is in later. Callers open an `NlSocket` inside a namespace and keep using it from
 * the host.
 *
 * @module
 */

import { toCString } from "./c_string.ts";
import { openLibnl } from "./libnl.ts";
import {
  attributes,
  attributeString,
  attributeU32,
  LibnlSocket,
  messageHeader,
  NLMSG_ALIGNTO,
  NLMSG_HDRLEN,
  receiveMessages,
} from "./netlink_message.ts";
import {
  type ErrorContext,
  netlinkError,
  NleCode,
  retryDumpIntr,
  unwrap,
  unwrapPointer,
} from "./unwrap.ts";

/** `<linux/netlink.h>`: the rtnetlink protocol. */
const NETLINK_ROUTE = 0;
/** `<linux/netlink.h>`: fail instead of replacing an existing object. */
const NLM_F_EXCL = 0x200;
/** `<linux/netlink.h>`: the flag of a nested attribute. */
const NLA_F_NESTED = 0x8000;
/** `<sys/socket.h>` */
const AF_UNSPEC = 0;
/** `<linux/rtnetlink.h>` */
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWLINKPROP = 108;
const RTM_DELLINKPROP = 109;
const RTPROT_BOOT = 3;
const RT_TABLE_MAIN = 254;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
/** `struct ifinfomsg`: family u8, pad u8, type u16, index i32, flags u32, change u32. */
const IFINFOMSG_SIZE = 16;
/** `<linux/if_link.h>` */
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_VFINFO_LIST = 22;
const IFLA_EXT_MASK = 29;
const IFLA_PROP_LIST = 52;
const IFLA_ALT_IFNAME = 53;
/** `<linux/if_link.h>`: the one attribute type inside `IFLA_VFINFO_LIST`. */
const IFLA_VF_INFO = 1;
/**
 * `<linux/if_link.h>`: attributes inside `IFLA_VF_INFO`. Each payload is a struct that starts
 * with `__u32 vf`, the VF index: `ifla_vf_mac` {vf, mac[32]}, `ifla_vf_link_state` {vf,
 * link_state}, `ifla_vf_guid` {vf, 4 bytes of padding, __u64 guid} (16 bytes, guid at 8).
 */
const IFLA_VF_MAC = 1;
const IFLA_VF_LINK_STATE = 5;
const IFLA_VF_IB_NODE_GUID = 10;
const IFLA_VF_IB_PORT_GUID = 11;
const IFLA_VF_LINK_STATE_SIZE = 8;
const IFLA_VF_GUID_SIZE = 16;
const IFLA_VF_GUID_OFFSET = 8;
/** `<linux/rtnetlink.h>`: `IFLA_EXT_MASK` bit that asks for `IFLA_VFINFO_LIST`. */
const RTEXT_FILTER_VF = 1;
/** `<net/if.h>`: IFNAMSIZ less the NUL; longer names can only be alternative names. */
const IFNAME_MAX = 15;
/** `<linux/if.h>` */
const IFF_UP = 0x1;

/** A link as one `RTM_NEWLINK` message describes it. */
export interface RawLink {
  /** ifindex. */
  index: number;
  /** `IFLA_IFNAME`. */
  name: string;
  /** `IFLA_MTU`; 0 when absent. */
  mtu: number;
  /** `ifi_flags` (`IFF_*`). */
  flags: number;
  /** `IFLA_ADDRESS` bytes; empty when absent. */
  address: Uint8Array;
  /** The `IFLA_ALT_IFNAME`s inside `IFLA_PROP_LIST`. */
  altNames: string[];
  /** The `IFLA_VF_INFO`s of `IFLA_VFINFO_LIST`; empty when the message has none. */
  vfs: RawVf[];
}

/** One VF as its PF's `IFLA_VF_INFO` describes it. */
export interface RawVf {
  /** The VF index (the `vf` field of the first struct that carries one). */
  vf: number;
  /** `IFLA_VF_LINK_STATE`: 0 auto, 1 enable, 2 disable; `null` when absent. */
  linkState: number | null;
  /** `IFLA_VF_IB_NODE_GUID` as a number; `null` when absent (no `ndo_get_vf_guid`). */
  nodeGuid: bigint | null;
  /** `IFLA_VF_IB_PORT_GUID`, as `nodeGuid`. */
  portGuid: bigint | null;
}

/** A change made to one VF by {@linkcode NlSocket.changeVf}; absent fields are left alone. */
export interface VfWrite {
  /** `IFLA_VF_IB_NODE_GUID`. */
  nodeGuid?: bigint;
  /** `IFLA_VF_IB_PORT_GUID`. */
  portGuid?: bigint;
  /** `IFLA_VF_LINK_STATE`: 0 auto, 1 enable, 2 disable. */
  linkState?: number;
}

/** Options of {@linkcode NlSocket.getLink}. */
export interface GetLinkOptions {
  /** Ask for the PF's VF list too (`IFLA_EXT_MASK` `RTEXT_FILTER_VF`). */
  vfs?: boolean;
}

/** A network address as libnl's `struct nl_addr` holds it. */
export interface RawAddress {
  /** `AF_INET` (2) or `AF_INET6` (10). */
  family: number;
  /** The address bytes in network order; empty for a default route's destination. */
  bytes: Uint8Array;
  /** Prefix length in bits. */
  prefixLen: number;
}

/** One address from an address dump. */
export interface AddressEntry {
  /** The link it is on. */
  ifindex: number;
  /** `RT_SCOPE_*`. */
  scope: number;
  /** The local address with its prefix length. */
  local: RawAddress;
}

/** One next hop of a route. */
export interface NextHop {
  /** The outgoing link. */
  ifindex: number;
  /** The gateway; `null` for an on-link next hop. */
  gateway: RawAddress | null;
}

/** One route from a route dump. */
export interface RouteEntry {
  /** `RT_TABLE_*` or a table number. */
  table: number;
  /** `RTN_*`. */
  type: number;
  /** `RT_SCOPE_*`. */
  scope: number;
  /** The metric (`RTA_PRIORITY`). */
  priority: number;
  /** The destination prefix. */
  dst: RawAddress;
  /** `RTAX_MTU`; `null` when not set. */
  mtu: number | null;
  /** `RTAX_ADVMSS`; `null` when not set. */
  advmss: number | null;
  /** The next hops. */
  nexthops: NextHop[];
}

/** The changes {@linkcode NlSocket.changeLink} makes; absent fields are left as they are. */
export interface LinkChange {
  /** New name. */
  name?: string;
  /** Administrative state. */
  up?: boolean;
  /** MTU (`IFLA_MTU`). */
  mtu?: number;
  /** A network namespace fd to move the link into. */
  nsFd?: number;
}

/** A route for {@linkcode NlSocket.addRoute}. */
export interface NewRoute {
  /** The outgoing link. */
  ifindex: number;
  /** Destination CIDR. */
  dst: string;
  /** Gateway address; absent for an on-link route. */
  gateway?: string;
  /** Table; the main table when absent. */
  table?: number;
  /** `RT_SCOPE_*`; when absent libnl picks universe with a gateway and link without. */
  scope?: number;
  /** Metric. */
  priority?: number;
  /** `RTAX_MTU`. */
  mtu?: number;
  /** `RTAX_ADVMSS`. */
  advmss?: number;
}

/**
 * One libnl object owned by JS: `close()` releases it once with the function that matches its
 * allocator (`rtnl_link_put`, `nl_addr_put`, `nlmsg_free`, ...).
 */
class Owned implements Disposable {
  #handle: Deno.PointerObject | null;
  readonly #release: (handle: Deno.PointerObject) => void;

  constructor(handle: Deno.PointerObject, release: (handle: Deno.PointerObject) => void) {
    this.#handle = handle;
    this.#release = release;
  }

  /** The native pointer; only for calls made inside this file. */
  get pointer(): Deno.PointerObject {
    if (this.#handle === null) throw new Error("libnl object used after close()");
    return this.#handle;
  }

  /** Gives up ownership, e.g. after `rtnl_route_add_nexthop()` took the next hop. */
  release(): void {
    this.#handle = null;
  }

  close(): void {
    if (this.#handle === null) return;
    const handle = this.#handle;
    this.#handle = null;
    this.#release(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Reads a `struct X **` out-parameter after the call that filled it. */
function outPointer(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0] ?? 0n);
}

/** Encodes a `struct ifinfomsg` that addresses a link by ifindex. */
function ifinfomsg(index: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(IFINFOMSG_SIZE);
  new DataView(bytes.buffer).setInt32(4, index, true);
  return bytes;
}

/** Copies a `struct nl_addr` into JS. */
function readAddress(addr: Deno.PointerObject): RawAddress {
  const { core } = openLibnl();
  const length = core.nl_addr_get_len(addr);
  const data = core.nl_addr_get_binary_addr(addr);
  const bytes = new Uint8Array(length);
  if (length > 0 && data !== null) new Deno.UnsafePointerView(data).copyInto(bytes);
  return {
    family: core.nl_addr_get_family(addr),
    bytes,
    prefixLen: core.nl_addr_get_prefixlen(addr),
  };
}

/** Parses an address or CIDR with libnl (`nl_addr_parse`); the caller closes the result. */
function parseAddress(text: string, context: ErrorContext): Owned {
  const { core } = openLibnl();
  const out = new BigUint64Array(1);
  unwrap(core.nl_addr_parse(toCString(text), AF_UNSPEC, out), context);
  return new Owned(unwrapPointer(outPointer(out), context), (p) => core.nl_addr_put(p));
}

/**
 * Fills a libnl cache with a dump (retried when the dump is interrupted) and reads each of its
 * objects into JS; the cache is freed before this returns.
 *
 * @param alloc The `rtnl_*_alloc_cache` call, writing the cache to `out`.
 * @param context What is being listed, for the error message.
 * @param read Reads one object (valid only during the call), or skips it with `null`.
 * @returns What `read` returned, in the cache's order, without the `null`s.
 */
function readDump<T>(
  alloc: (out: BigUint64Array) => number,
  context: ErrorContext,
  read: (obj: Deno.PointerObject) => T | null,
): T[] {
  const { core } = openLibnl();
  const out = new BigUint64Array(1);
  retryDumpIntr(() => alloc(out), context);
  using cache = new Owned(unwrapPointer(outPointer(out), context), (p) => core.nl_cache_free(p));
  const entries: T[] = [];
  for (
    let obj = core.nl_cache_get_first(cache.pointer);
    obj !== null;
    obj = core.nl_cache_get_next(obj)
  ) {
    const entry = read(obj);
    if (entry !== null) entries.push(entry);
  }
  return entries;
}

/** Allocates an `RTM_*` request that starts with a `struct ifinfomsg` for `index`. */
function linkRequest(type: number, index: number, context: ErrorContext): Owned {
  const { core } = openLibnl();
  const msg = new Owned(
    unwrapPointer(core.nlmsg_alloc_simple(type, 0), context),
    (p) => core.nlmsg_free(p),
  );
  try {
    const header = ifinfomsg(index);
    unwrap(core.nlmsg_append(msg.pointer, header, BigInt(header.length), NLMSG_ALIGNTO), context);
    return msg;
  } catch (error) {
    msg.close();
    throw error;
  }
}

/** A view of an attribute's payload, for reading its struct fields (host byte order). */
function payloadView(payload: Uint8Array): DataView {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

/**
 * Decodes the `IFLA_VF_INFO`s of an `IFLA_VFINFO_LIST` payload. An attribute shorter than its
 * struct is left out, as if absent; a VF whose attributes carry no index is skipped.
 */
function parseVfInfoList(payload: Uint8Array): RawVf[] {
  const vfs: RawVf[] = [];
  for (const [type, info] of attributes(payload, 0, payload.length)) {
    if (type !== IFLA_VF_INFO) continue;
    let index: number | null = null;
    const vf: Omit<RawVf, "vf"> = { linkState: null, nodeGuid: null, portGuid: null };
    for (const [inner, data] of attributes(info, 0, info.length)) {
      if (data.length < 4) continue;
      const view = payloadView(data);
      if (inner === IFLA_VF_LINK_STATE) {
        if (data.length < IFLA_VF_LINK_STATE_SIZE) continue;
        vf.linkState = view.getUint32(4, true);
      } else if (inner === IFLA_VF_IB_NODE_GUID || inner === IFLA_VF_IB_PORT_GUID) {
        if (data.length < IFLA_VF_GUID_SIZE) continue;
        const guid = view.getBigUint64(IFLA_VF_GUID_OFFSET, true);
        if (inner === IFLA_VF_IB_NODE_GUID) vf.nodeGuid = guid;
        else vf.portGuid = guid;
      } else if (inner !== IFLA_VF_MAC) {
        continue;
      }
      index ??= view.getUint32(0, true);
    }
    if (index !== null) vfs.push({ vf: index, ...vf });
  }
  return vfs;
}

/**
 * Decodes one `RTM_NEWLINK` message (a `struct nlmsghdr`, a `struct ifinfomsg`, attributes).
 * libnl 3.7 parses neither `IFLA_PROP_LIST` nor the VF GUIDs of `IFLA_VFINFO_LIST`, so link
 * lookups read the kernel's reply here.
 *
 * @param message The whole message, as the kernel sent it (host byte order).
 * @param context What was being looked up, for the error message.
 * @returns The link.
 * @throws {NetlinkError} With `code` `NLE_PARSE_ERR` when the message is not a well-formed
 *   `RTM_NEWLINK`.
 */
export function parseLinkMessage(message: Uint8Array, context: ErrorContext): RawLink {
  const header = messageHeader(message);
  if (
    header === null || header.length < NLMSG_HDRLEN + IFINFOMSG_SIZE ||
    header.type !== RTM_NEWLINK
  ) {
    throw netlinkError(NleCode.ParseErr, context, () => "malformed RTM_NEWLINK reply");
  }
  const view = payloadView(message);
  const body = NLMSG_HDRLEN;
  const link: RawLink = {
    index: view.getInt32(body + 4, true),
    name: "",
    mtu: 0,
    flags: view.getUint32(body + 8, true),
    address: new Uint8Array(0),
    altNames: [],
    vfs: [],
  };
  for (const [type, payload] of attributes(message, body + IFINFOMSG_SIZE, header.length)) {
    if (type === IFLA_IFNAME) link.name = attributeString(payload);
    else if (type === IFLA_ADDRESS) link.address = payload.slice();
    else if (type === IFLA_MTU) link.mtu = attributeU32(payload) ?? link.mtu;
    else if (type === IFLA_PROP_LIST) {
      for (const [inner, name] of attributes(payload, 0, payload.length)) {
        if (inner === IFLA_ALT_IFNAME) link.altNames.push(attributeString(name));
      }
    } else if (type === IFLA_VFINFO_LIST) {
      link.vfs = parseVfInfoList(payload);
    }
  }
  return link;
}

/**
 * A `NETLINK_ROUTE` socket (`struct nl_sock *`), bound to the network namespace that the calling
 * thread was in when it was opened.
 *
 * @example
 * ```ts ignore
 * using sock = NlSocket.open();
 * const lo = sock.getLink({ name: "lo" }, { op: "Cannot look up link", subject: '"lo"' });
 * ```
 */
export class NlSocket extends LibnlSocket {
  private constructor() {
    super(NETLINK_ROUTE, { op: "Cannot open", subject: "a NETLINK_ROUTE socket" });
  }

  /**
   * Allocates a socket and connects it to `NETLINK_ROUTE` in the current namespace.
   *
   * @returns The connected socket; close it with `close()` or `using`.
   * @throws {NetlinkError} When allocation or `nl_connect()` fails.
   * @throws {Error} When libnl cannot be loaded (see `openLibnl()`).
   */
  static open(): NlSocket {
    return new NlSocket();
  }

  /**
   * Asks the kernel for one link (`RTM_GETLINK`, no dump). A name longer than 15 bytes is sent as
   * `IFLA_ALT_IFNAME`, as iproute2 does; the kernel matches a name against primary and
   * alternative names alike.
   *
   * @param query The link's ifindex or name.
   * @param context What is being looked up, for the error message.
   * @param options `vfs`: also ask for the VF list of a PF (the kernel sends `IFLA_VFINFO_LIST`
   *   only when `IFLA_EXT_MASK` has `RTEXT_FILTER_VF`).
   * @returns The link, or `null` when the kernel has none (ENODEV).
   * @throws {NetlinkError} For any other failure.
   */
  getLink(
    query: { index: number } | { name: string },
    context: ErrorContext,
    options: GetLinkOptions = {},
  ): RawLink | null {
    const { core } = openLibnl();
    const sk = this.sk;
    // 1. Build the request: a struct ifinfomsg with the index, or the name as an attribute.
    using msg = linkRequest(RTM_GETLINK, "index" in query ? query.index : 0, context);
    if ("name" in query) {
      const name = toCString(query.name);
      const attr = name.length - 1 > IFNAME_MAX ? IFLA_ALT_IFNAME : IFLA_IFNAME;
      unwrap(core.nla_put_string(msg.pointer, attr, name), context);
    }
    if (options.vfs === true) {
      unwrap(core.nla_put_u32(msg.pointer, IFLA_EXT_MASK, RTEXT_FILTER_VF), context);
    }
    unwrap(core.nl_send_auto(sk, msg.pointer), context);
    // 2. Receive the reply, copied out of libnl.
    const { rc, messages: replies, errno } = receiveMessages(sk, context);
    // 3. A missing link is an error reply, which is also the request's ACK: nothing else comes.
    //    The kernel says ENODEV; libnl maps it to NLE_NODEV (and ENOENT to NLE_OBJ_NOTFOUND).
    if (rc === -NleCode.NoDev || rc === -NleCode.ObjNotFound) return null;
    if (rc < 0) throw netlinkError(rc, context, undefined, errno);
    // 4. A found link is followed by the ACK that nl_send_auto() asked for; consume it.
    unwrap(core.nl_wait_for_ack(sk), context);
    const reply = replies[0];
    if (reply === undefined) {
      throw netlinkError(NleCode.ObjNotFound, context, () => "no RTM_NEWLINK reply");
    }
    return parseLinkMessage(reply, context);
  }

  /**
   * Renames, sets up or down, or moves a link, in one `RTM_NEWLINK` (`rtnl_link_change`).
   *
   * The link's current state comes from the kernel first (`rtnl_link_get_kernel`): libnl builds
   * `ifi_flags` from the original link's flags, so an empty original would clear IFF_MULTICAST
   * and the other flags when only IFF_UP was meant to change.
   *
   * @param index The link's ifindex.
   * @param change What to change.
   * @param context What is being changed, for the error message.
   * @throws {NetlinkError} When the link is gone or the kernel refuses (e.g. `NLE_BUSY` renaming
   *   a link that is up, `NLE_EXIST` for a name in use).
   */
  changeLink(index: number, change: LinkChange, context: ErrorContext): void {
    const { route } = openLibnl();
    this.#changeKernelLink(index, context, true, (changes) => {
      if (change.name !== undefined) route.rtnl_link_set_name(changes, toCString(change.name));
      if (change.up === true) route.rtnl_link_set_flags(changes, IFF_UP);
      if (change.up === false) route.rtnl_link_unset_flags(changes, IFF_UP);
      if (change.mtu !== undefined) route.rtnl_link_set_mtu(changes, change.mtu);
      if (change.nsFd !== undefined) route.rtnl_link_set_ns_fd(changes, change.nsFd);
    });
  }

  /**
   * Changes one VF through its PF in one request (`rtnl_link_change` with `rtnl_link_vf_*`
   * objects: `IFLA_VFINFO_LIST` holding `IFLA_VF_INFO`s). The caller sends at least one field.
   *
   * libnl sends `RTM_NEWLINK` and, when the kernel answers EOPNOTSUPP, the same request again as
   * `RTM_SETLINK`; a driver without the handler answers EOPNOTSUPP to both.
   *
   * @param index The PF's ifindex.
   * @param vf The VF index.
   * @param write What to change.
   * @param context What is being changed, for the error message.
   * @throws {NetlinkError} When the PF is gone or the kernel refuses (`NLE_OPNOTSUPP` when the
   *   PF's driver has no handler for a setting; the kernel applies the settings in the order
   *   link state, node GUID, port GUID and stops at the first refusal).
   */
  changeVf(index: number, vf: number, write: VfWrite, context: ErrorContext): void {
    const { route } = openLibnl();
    // The IFLA_VF_INFOs. The kernel's do_setvfinfo() returns as soon as it has applied
    //    IFLA_VF_IB_NODE_GUID, so a port GUID in the same IFLA_VF_INFO would be dropped without
    //    an error: it gets an IFLA_VF_INFO of its own, for the same VF.
    const infos: Array<(handle: Deno.PointerObject) => void> = [];
    if (write.linkState !== undefined || write.nodeGuid !== undefined) {
      const { linkState, nodeGuid } = write;
      infos.push((handle) => {
        if (linkState !== undefined) route.rtnl_link_vf_set_linkstate(handle, linkState);
        if (nodeGuid !== undefined) route.rtnl_link_vf_set_ib_node_guid(handle, nodeGuid);
      });
    }
    if (write.portGuid !== undefined) {
      const { portGuid } = write;
      infos.push((handle) => route.rtnl_link_vf_set_ib_port_guid(handle, portGuid));
    }
    // The PF by its index alone: rtnl_link_get_kernel() asks for the VF list too, which a kernel
    // cannot send for a PF with many VFs (EMSGSIZE), and a change without flags takes nothing
    // else from the original.
    this.#changeKernelLink(index, context, false, (changes) => {
      // rtnl_link_vf_add() puts each VF object at the head of the link's list, and libnl sends
      // the list in that order: adding them in reverse keeps link state and node GUID first.
      for (const fill of infos.reverse()) {
        // rtnl_link_vf_add() takes a reference of its own; this one is dropped at the block's end.
        using info = new Owned(
          unwrapPointer(route.rtnl_link_vf_alloc(), context),
          (p) => route.rtnl_link_vf_put(p),
        );
        route.rtnl_link_vf_set_index(info.pointer, vf);
        fill(info.pointer);
        unwrap(route.rtnl_link_vf_add(changes, info.pointer), context);
      }
    });
  }

  /**
   * Changes a link with `rtnl_link_change`, against the original as the kernel has it (see
   * `changeLink()` for why the original matters) or as its index alone.
   *
   * @param index The link's ifindex.
   * @param context What is being changed, for the error message.
   * @param fromKernel Whether to read the original from the kernel.
   * @param fill Sets the changes on an empty `struct rtnl_link *`, valid only during the call.
   * @throws {NetlinkError} When the link is gone, an allocation fails or the kernel refuses.
   */
  #changeKernelLink(
    index: number,
    context: ErrorContext,
    fromKernel: boolean,
    fill: (changes: Deno.PointerObject) => void,
  ): void {
    const { route } = openLibnl();
    const sk = this.sk;
    // 1. The original.
    const out = new BigUint64Array(1);
    if (fromKernel) unwrap(route.rtnl_link_get_kernel(sk, index, null, out), context);
    using orig = new Owned(
      unwrapPointer(fromKernel ? outPointer(out) : route.rtnl_link_alloc(), context),
      (p) => route.rtnl_link_put(p),
    );
    if (!fromKernel) route.rtnl_link_set_ifindex(orig.pointer, index);
    // 2. The changes.
    using changes = new Owned(
      unwrapPointer(route.rtnl_link_alloc(), context),
      (p) => route.rtnl_link_put(p),
    );
    fill(changes.pointer);
    // 3. Send them and wait for the ACK.
    unwrap(route.rtnl_link_change(sk, orig.pointer, changes.pointer, 0), context);
  }

  /**
   * Adds one alternative name to a link (`RTM_NEWLINKPROP`, see {@linkcode deleteAltName}).
   *
   * @param index The link's ifindex.
   * @param altName The alternative name.
   * @param context What is being changed, for the error message.
   * @throws {NetlinkError} When the kernel refuses (`NLE_EXIST` when a link in the namespace has
   *   the name, as its name or an altname).
   */
  addAltName(index: number, altName: string, context: ErrorContext): void {
    this.#changeAltName(RTM_NEWLINKPROP, index, altName, context);
  }

  /**
   * Removes one alternative name from a link (`RTM_DELLINKPROP` with `IFLA_PROP_LIST` holding one
   * `IFLA_ALT_IFNAME`). libnl 3.7 has no API for it, so the message is built here.
   *
   * @param index The link's ifindex.
   * @param altName The alternative name.
   * @param context What is being changed, for the error message.
   * @throws {NetlinkError} When the kernel refuses (`NLE_NODEV` when the link or the name is not
   *   there).
   */
  deleteAltName(index: number, altName: string, context: ErrorContext): void {
    this.#changeAltName(RTM_DELLINKPROP, index, altName, context);
  }

  /** Sends `RTM_NEWLINKPROP` or `RTM_DELLINKPROP` for one altname and waits for the ACK. */
  #changeAltName(type: number, index: number, altName: string, context: ErrorContext): void {
    const { core } = openLibnl();
    const sk = this.sk;
    using msg = linkRequest(type, index, context);
    // NLA_F_NESTED is set by hand: the kernel validates IFLA_PROP_LIST strictly, and libnl 3.7's
    // nla_nest_start() does not set the flag.
    const nest = unwrapPointer(
      core.nla_nest_start(msg.pointer, IFLA_PROP_LIST | NLA_F_NESTED),
      context,
    );
    unwrap(core.nla_put_string(msg.pointer, IFLA_ALT_IFNAME, toCString(altName)), context);
    unwrap(core.nla_nest_end(msg.pointer, nest), context);
    unwrap(core.nl_send_auto(sk, msg.pointer), context);
    unwrap(core.nl_wait_for_ack(sk), context);
  }

  /**
   * Adds an address to a link (`rtnl_addr_add`, failing if it exists).
   *
   * @param index The link's ifindex.
   * @param cidr The address with its prefix length, v4 or v6.
   * @param broadcast An IPv4 broadcast address to set with it, or `null`.
   * @param context What is being added, for the error message.
   * @throws {NetlinkError} When `cidr` does not parse (`NLE_INVAL`) or the kernel refuses
   *   (`NLE_EXIST` when the link already has it).
   */
  addAddress(index: number, cidr: string, broadcast: string | null, context: ErrorContext): void {
    const { route } = openLibnl();
    using local = parseAddress(cidr, context);
    using addr = new Owned(
      unwrapPointer(route.rtnl_addr_alloc(), context),
      (p) => route.rtnl_addr_put(p),
    );
    route.rtnl_addr_set_ifindex(addr.pointer, index);
    // rtnl_addr_set_local() takes its own reference and copies the prefix length.
    unwrap(route.rtnl_addr_set_local(addr.pointer, local.pointer), context);
    if (broadcast !== null) {
      using brd = parseAddress(broadcast, context);
      unwrap(route.rtnl_addr_set_broadcast(addr.pointer, brd.pointer), context);
    }
    unwrap(route.rtnl_addr_add(this.sk, addr.pointer, NLM_F_EXCL), context);
  }

  /**
   * Dumps every address of the namespace (retried when the dump is interrupted).
   *
   * @param context What is being listed, for the error message.
   * @returns The addresses, in the kernel's order.
   * @throws {NetlinkError} When the dump fails.
   */
  listAddresses(context: ErrorContext): AddressEntry[] {
    const { route } = openLibnl();
    return readDump((out) => route.rtnl_addr_alloc_cache(this.sk, out), context, (obj) => {
      const local = route.rtnl_addr_get_local(obj);
      if (local === null) return null;
      return {
        ifindex: route.rtnl_addr_get_ifindex(obj),
        scope: route.rtnl_addr_get_scope(obj),
        local: { ...readAddress(local), prefixLen: route.rtnl_addr_get_prefixlen(obj) },
      };
    });
  }

  /**
   * Adds a route with one next hop (`rtnl_route_add`, failing if it exists), with protocol
   * `boot` as `ip route add` and the reference plugins use.
   *
   * @param spec The route.
   * @param context What is being added, for the error message.
   * @throws {NetlinkError} When an address does not parse or the kernel refuses (`NLE_EXIST`,
   *   or ENETUNREACH as `NLE_FAILURE` for a gateway that no connected route reaches).
   */
  addRoute(spec: NewRoute, context: ErrorContext): void {
    const { route } = openLibnl();
    using rt = new Owned(
      unwrapPointer(route.rtnl_route_alloc(), context),
      (p) => route.rtnl_route_put(p),
    );
    // 1. Destination, table, protocol and the optional attributes.
    {
      using dst = parseAddress(spec.dst, context);
      unwrap(route.rtnl_route_set_dst(rt.pointer, dst.pointer), context);
    }
    route.rtnl_route_set_table(rt.pointer, spec.table ?? RT_TABLE_MAIN);
    route.rtnl_route_set_protocol(rt.pointer, RTPROT_BOOT);
    if (spec.scope !== undefined) route.rtnl_route_set_scope(rt.pointer, spec.scope);
    if (spec.priority !== undefined) route.rtnl_route_set_priority(rt.pointer, spec.priority);
    if (spec.mtu !== undefined) {
      unwrap(route.rtnl_route_set_metric(rt.pointer, RTAX_MTU, spec.mtu), context);
    }
    if (spec.advmss !== undefined) {
      unwrap(route.rtnl_route_set_metric(rt.pointer, RTAX_ADVMSS, spec.advmss), context);
    }
    // 2. The next hop; the route takes ownership of it.
    using nh = new Owned(
      unwrapPointer(route.rtnl_route_nh_alloc(), context),
      (p) => route.rtnl_route_nh_free(p),
    );
    route.rtnl_route_nh_set_ifindex(nh.pointer, spec.ifindex);
    if (spec.gateway !== undefined) {
      using gw = parseAddress(spec.gateway, context);
      route.rtnl_route_nh_set_gateway(nh.pointer, gw.pointer);
    }
    route.rtnl_route_add_nexthop(rt.pointer, nh.pointer);
    nh.release();
    // 3. Send it and wait for the ACK.
    unwrap(route.rtnl_route_add(this.sk, rt.pointer, NLM_F_EXCL), context);
  }

  /**
   * Dumps every route of the namespace, all tables and families (retried when the dump is
   * interrupted).
   *
   * @param context What is being listed, for the error message.
   * @returns The routes, in the kernel's order.
   * @throws {NetlinkError} When the dump fails.
   */
  listRoutes(context: ErrorContext): RouteEntry[] {
    const { route } = openLibnl();
    const metric = new Uint32Array(1);
    const readMetric = (obj: Deno.PointerObject, which: number): number | null =>
      route.rtnl_route_get_metric(obj, which, metric) < 0 ? null : metric[0] ?? null;
    const alloc = (out: BigUint64Array) => route.rtnl_route_alloc_cache(this.sk, AF_UNSPEC, 0, out);
    return readDump(alloc, context, (obj): RouteEntry | null => {
      const dst = route.rtnl_route_get_dst(obj);
      if (dst === null) return null;
      const nexthops: NextHop[] = [];
      const count = route.rtnl_route_get_nnexthops(obj);
      for (let n = 0; n < count; n++) {
        const nh = route.rtnl_route_nexthop_n(obj, n);
        if (nh === null) continue;
        const gateway = route.rtnl_route_nh_get_gateway(nh);
        nexthops.push({
          ifindex: route.rtnl_route_nh_get_ifindex(nh),
          gateway: gateway === null ? null : readAddress(gateway),
        });
      }
      return {
        table: route.rtnl_route_get_table(obj),
        type: route.rtnl_route_get_type(obj),
        scope: route.rtnl_route_get_scope(obj),
        priority: route.rtnl_route_get_priority(obj),
        dst: readAddress(dst),
        mtu: readMetric(obj, RTAX_MTU),
        advmss: readMetric(obj, RTAX_ADVMSS),
        nexthops,
      };
    });
  }
}
