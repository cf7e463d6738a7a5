/**
 * The route-netlink (`NETLINK_ROUTE`) requests the plugin makes, on a libnl socket, and the one
 * model of what they read and write: {@linkcode LinkInfo}, {@linkcode VfSettings},
 * {@linkcode RouteSpec} (`lib/netlink/netlink.ts` re-exports them).
 *
 * {@linkcode NlSocket} is the only export that holds native memory. Its methods take and return
 * plain JS values; the libnl objects they need (`struct rtnl_link`, `struct rtnl_addr`,
 * `struct rtnl_route`, `struct nl_addr`, caches, messages) live inside one method call, each in a
 * {@linkcode Owned} wrapper released by `using`, so no raw pointer leaves this file.
 *
 * @module
 */

import ipaddr from "ipaddr.js";
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
  NetlinkError,
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
const AF_INET = 2;
const AF_INET6 = 10;
/** `<linux/rtnetlink.h>` */
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWLINKPROP = 108;
const RTM_DELLINKPROP = 109;
const RTPROT_BOOT = 3;
const RT_TABLE_MAIN = 254;
const RT_TABLE_LOCAL = 255;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
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
/** `<linux/if_link.h>`: `IFLA_VF_LINK_STATE_AUTO`, `_ENABLE`, `_DISABLE`, by value. */
const VF_LINK_STATES: readonly VfLinkState[] = ["auto", "enable", "disable"];
/** A GUID in colon form: 8 hexadecimal bytes, most significant first. */
const GUID = /^([0-9a-f]{2}:){7}[0-9a-f]{2}$/i;

/** A link as the kernel reports it. */
export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  /** Link-layer address, lower-case colon form; 20 bytes for IPoIB, 6 for Ethernet. */
  address: string;
  /** Administrative state (`IFF_UP`). */
  up: boolean;
  /** Alternative names (`IFLA_PROP_LIST`). */
  altNames: string[];
}

/** `IFLA_VF_LINK_STATE`, by the names of the `link_state` config field. */
export type VfLinkState = "auto" | "enable" | "disable";

/** VF N's settings as its PF reports them in `IFLA_VFINFO_LIST`. */
export interface VfSettings {
  vf: number;
  /**
   * `IFLA_VF_IB_NODE_GUID`, lower-case colon form (`02:00:00:00:00:00:00:01`); `null` when the
   * PF's driver does not report VF GUIDs (it has no `ndo_get_vf_guid`).
   */
  nodeGuid: string | null;
  /** `IFLA_VF_IB_PORT_GUID`, as `nodeGuid`. */
  portGuid: string | null;
  /** `IFLA_VF_LINK_STATE`; `null` when the PF does not report it (or a later kernel's value). */
  linkState: VfLinkState | null;
}

/** A change to VF N made through its PF, in one `RTM_SETLINK`; absent fields are left alone. */
export interface VfChange {
  /** Colon form, any case. */
  nodeGuid?: string;
  portGuid?: string;
  linkState?: VfLinkState;
}

/** A route in a namespace, as a CNI result states one (a field `undefined` is absent). */
export interface RouteSpec {
  dst: string;
  gw?: string | undefined;
  /** `RTAX_MTU`. */
  mtu?: number | undefined;
  /** `RTAX_ADVMSS`. */
  advmss?: number | undefined;
  /** The metric (`RTA_PRIORITY`); 0 reads as absent. */
  priority?: number | undefined;
  /** `RT_TABLE_*` or a table number; the main table when absent. */
  table?: number | undefined;
  /** `RT_SCOPE_*`; when absent libnl picks universe with a gateway and link without. */
  scope?: number | undefined;
}

/** The changes {@linkcode NlSocket.changeLink} makes; absent fields are left as they are. */
export interface LinkChange {
  name?: string;
  up?: boolean;
  mtu?: number;
  /** A network namespace fd to move the link into. */
  nsFd?: number;
}

/** An address as libnl's `struct nl_addr` holds it. */
interface RawAddress {
  family: number;
  /** In network order; empty for a default route's destination. */
  bytes: Uint8Array;
  prefixLen: number;
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

function ifinfomsg(index: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(IFINFOMSG_SIZE);
  new DataView(bytes.buffer).setInt32(4, index, true);
  return bytes;
}

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

/** Formats an address with its prefix length; an empty address is the family's zero address. */
function formatCidr(addr: RawAddress): string {
  const width = addr.family === AF_INET6 ? 16 : 4;
  const bytes = addr.bytes.length === 0 ? new Array<number>(width).fill(0) : Array.from(addr.bytes);
  return `${ipaddr.fromByteArray(bytes).toString()}/${addr.prefixLen}`;
}

/** The IPv4 broadcast address the kernel's `ip addr add ... brd +` would set, or `null`. */
function broadcastFor(cidr: string): string | null {
  if (!ipaddr.IPv4.isValidCIDR(cidr)) return null;
  // /31 and /32 have no broadcast address (RFC 3021), as in the reference plugins.
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return prefix >= 31 ? null : ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString();
}

/**
 * Formats a GUID as the kernel holds it (`__u64`, host order) in colon form: iproute2 and sysfs
 * print it most significant byte first, so `0x0200000000000001n` is `02:00:00:00:00:00:00:01`.
 */
function formatGuid(guid: bigint): string {
  return guid.toString(16).padStart(16, "0").replace(/(..)(?!$)/g, "$1:");
}

function parseGuid(text: string): bigint {
  if (!GUID.test(text)) {
    throw new NetlinkError(NleCode.Inval, `invalid GUID ${JSON.stringify(text)}`);
  }
  return BigInt(`0x${text.replaceAll(":", "")}`);
}

/** Parses an address or CIDR with libnl (`nl_addr_parse`); the caller closes the result. */
function parseAddress(text: string): Owned {
  const { core } = openLibnl();
  const out = new BigUint64Array(1);
  unwrap(core.nl_addr_parse(toCString(text), AF_UNSPEC, out));
  return new Owned(unwrapPointer(outPointer(out)), (p) => core.nl_addr_put(p));
}

/**
 * Fills a libnl cache with a dump (retried when the dump is interrupted) and returns what `read`
 * makes of each object (valid only during the call; `null` skips it), in the cache's order. The
 * cache is freed before this returns.
 */
function readDump<T>(
  alloc: (out: BigUint64Array) => number,
  read: (obj: Deno.PointerObject) => T | null,
): T[] {
  const { core } = openLibnl();
  const out = new BigUint64Array(1);
  retryDumpIntr(() => alloc(out));
  using cache = new Owned(unwrapPointer(outPointer(out)), (p) => core.nl_cache_free(p));
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
function linkRequest(type: number, index: number): Owned {
  const { core } = openLibnl();
  const msg = new Owned(unwrapPointer(core.nlmsg_alloc_simple(type, 0)), (p) => core.nlmsg_free(p));
  try {
    const header = ifinfomsg(index);
    unwrap(core.nlmsg_append(msg.pointer, header, BigInt(header.length), NLMSG_ALIGNTO));
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
function parseVfInfoList(payload: Uint8Array): VfSettings[] {
  const vfs: VfSettings[] = [];
  for (const [type, info] of attributes(payload, 0, payload.length)) {
    if (type !== IFLA_VF_INFO) continue;
    let index: number | null = null;
    const vf: Omit<VfSettings, "vf"> = { nodeGuid: null, portGuid: null, linkState: null };
    for (const [inner, data] of attributes(info, 0, info.length)) {
      if (data.length < 4) continue;
      const view = payloadView(data);
      if (inner === IFLA_VF_LINK_STATE) {
        if (data.length < IFLA_VF_LINK_STATE_SIZE) continue;
        vf.linkState = VF_LINK_STATES[view.getUint32(4, true)] ?? null;
      } else if (inner === IFLA_VF_IB_NODE_GUID || inner === IFLA_VF_IB_PORT_GUID) {
        if (data.length < IFLA_VF_GUID_SIZE) continue;
        const guid = formatGuid(view.getBigUint64(IFLA_VF_GUID_OFFSET, true));
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
 * Decodes one `RTM_NEWLINK` message (a `struct nlmsghdr`, a `struct ifinfomsg`, attributes), with
 * the VFs of a PF asked for them. libnl 3.7 parses neither `IFLA_PROP_LIST` nor the VF GUIDs of
 * `IFLA_VFINFO_LIST`, so link lookups read the kernel's reply here.
 *
 * @throws {NetlinkError} `NLE_PARSE_ERR` when the message is not a well-formed `RTM_NEWLINK`.
 */
export function parseLinkMessage(message: Uint8Array): { link: LinkInfo; vfs: VfSettings[] } {
  const header = messageHeader(message);
  if (
    header === null || header.length < NLMSG_HDRLEN + IFINFOMSG_SIZE ||
    header.type !== RTM_NEWLINK
  ) {
    throw new NetlinkError(NleCode.ParseErr, "malformed RTM_NEWLINK reply");
  }
  const view = payloadView(message);
  const body = NLMSG_HDRLEN;
  const link: LinkInfo = {
    index: view.getInt32(body + 4, true),
    name: "",
    mtu: 0,
    address: "",
    up: (view.getUint32(body + 8, true) & IFF_UP) !== 0,
    altNames: [],
  };
  let vfs: VfSettings[] = [];
  for (const [type, payload] of attributes(message, body + IFINFOMSG_SIZE, header.length)) {
    if (type === IFLA_IFNAME) link.name = attributeString(payload);
    else if (type === IFLA_ADDRESS) {
      link.address = Array.from(payload, (b) => b.toString(16).padStart(2, "0")).join(":");
    } else if (type === IFLA_MTU) link.mtu = attributeU32(payload) ?? link.mtu;
    else if (type === IFLA_PROP_LIST) {
      for (const [inner, name] of attributes(payload, 0, payload.length)) {
        if (inner === IFLA_ALT_IFNAME) link.altNames.push(attributeString(name));
      }
    } else if (type === IFLA_VFINFO_LIST) {
      vfs = parseVfInfoList(payload);
    }
  }
  return { link, vfs };
}

/**
 * A `NETLINK_ROUTE` {@linkcode LibnlSocket}. Each method throws {@linkcode NetlinkError} when
 * libnl or the kernel refuses, its message libnl's text.
 */
export class NlSocket extends LibnlSocket {
  constructor() {
    super(NETLINK_ROUTE);
  }

  /**
   * Asks the kernel for one link (`RTM_GETLINK`, no dump), or `null` when it has none (ENODEV). A
   * name longer than 15 bytes is sent as `IFLA_ALT_IFNAME`, as iproute2 does; the kernel matches a
   * name against primary and alternative names alike.
   */
  getLink(query: { index: number } | { name: string }): LinkInfo | null {
    return this.#getLink(query, false)?.link ?? null;
  }

  /**
   * VF `vf`'s settings as the PF `index` reports them (`RTM_GETLINK` with `IFLA_EXT_MASK`
   * `RTEXT_FILTER_VF`: the kernel sends `IFLA_VFINFO_LIST` only then), or `null` when the PF lists
   * no such VF (a veth lists none).
   *
   * @throws {NetlinkError} `NLE_NODEV` when the PF is gone.
   */
  vfSettings(index: number, vf: number): VfSettings | null {
    const found = this.#getLink({ index }, true);
    if (found === null) throw netlinkError(NleCode.NoDev);
    return found.vfs.find((candidate) => candidate.vf === vf) ?? null;
  }

  #getLink(
    query: { index: number } | { name: string },
    vfs: boolean,
  ): { link: LinkInfo; vfs: VfSettings[] } | null {
    const { core } = openLibnl();
    const sk = this.sk;
    using msg = linkRequest(RTM_GETLINK, "index" in query ? query.index : 0);
    if ("name" in query) {
      const name = toCString(query.name);
      const attr = name.length - 1 > IFNAME_MAX ? IFLA_ALT_IFNAME : IFLA_IFNAME;
      unwrap(core.nla_put_string(msg.pointer, attr, name));
    }
    if (vfs) unwrap(core.nla_put_u32(msg.pointer, IFLA_EXT_MASK, RTEXT_FILTER_VF));
    unwrap(core.nl_send_auto(sk, msg.pointer));
    const { rc, messages: replies, errno } = receiveMessages(sk);
    // A missing link is an error reply, which is also the request's ACK: nothing else comes.
    // The kernel says ENODEV; libnl maps it to NLE_NODEV (and ENOENT to NLE_OBJ_NOTFOUND).
    if (rc === -NleCode.NoDev || rc === -NleCode.ObjNotFound) return null;
    if (rc < 0) throw netlinkError(rc, undefined, errno);
    // A found link is followed by the ACK that nl_send_auto() asked for; consume it.
    unwrap(core.nl_wait_for_ack(sk));
    const reply = replies[0];
    if (reply === undefined) throw new NetlinkError(NleCode.ObjNotFound, "no RTM_NEWLINK reply");
    return parseLinkMessage(reply);
  }

  /**
   * Renames, sets up or down, changes the MTU of, or moves a link, in one `RTM_NEWLINK`
   * (`rtnl_link_change`).
   *
   * The link's current state comes from the kernel first (`rtnl_link_get_kernel`): libnl builds
   * `ifi_flags` from the original link's flags, so an empty original would clear IFF_MULTICAST
   * and the other flags when only IFF_UP was meant to change.
   */
  changeLink(index: number, change: LinkChange): void {
    const { route } = openLibnl();
    this.#changeKernelLink(index, true, (changes) => {
      if (change.name !== undefined) route.rtnl_link_set_name(changes, toCString(change.name));
      if (change.up === true) route.rtnl_link_set_flags(changes, IFF_UP);
      if (change.up === false) route.rtnl_link_unset_flags(changes, IFF_UP);
      if (change.mtu !== undefined) route.rtnl_link_set_mtu(changes, change.mtu);
      if (change.nsFd !== undefined) route.rtnl_link_set_ns_fd(changes, change.nsFd);
    });
  }

  /**
   * Changes one VF through its PF in one request (`rtnl_link_change` with `rtnl_link_vf_*`
   * objects: `IFLA_VFINFO_LIST` holding `IFLA_VF_INFO`s); a change with no field sends nothing
   * (the kernel would answer EINVAL to an empty `IFLA_VF_INFO`).
   *
   * libnl sends `RTM_NEWLINK` and, when the kernel answers EOPNOTSUPP, the same request again as
   * `RTM_SETLINK`; a driver without the handler answers EOPNOTSUPP to both. The kernel applies
   * the settings in the order link state, node GUID, port GUID and stops at the first refusal:
   * those before it may have taken effect.
   *
   * @throws {NetlinkError} `NLE_INVAL` for a GUID that is not in colon form (nothing sent),
   *   `NLE_OPNOTSUPP` when the PF's driver has no handler for a setting.
   */
  changeVf(index: number, vf: number, change: VfChange): void {
    const { route } = openLibnl();
    const nodeGuid = change.nodeGuid === undefined ? undefined : parseGuid(change.nodeGuid);
    const portGuid = change.portGuid === undefined ? undefined : parseGuid(change.portGuid);
    const linkState = change.linkState === undefined
      ? undefined
      : VF_LINK_STATES.indexOf(change.linkState);
    // The IFLA_VF_INFOs. The kernel's do_setvfinfo() returns as soon as it has applied
    // IFLA_VF_IB_NODE_GUID, so a port GUID in the same IFLA_VF_INFO would be dropped without an
    // error: it gets an IFLA_VF_INFO of its own, for the same VF.
    const infos: Array<(handle: Deno.PointerObject) => void> = [];
    if (linkState !== undefined || nodeGuid !== undefined) {
      infos.push((handle) => {
        if (linkState !== undefined) route.rtnl_link_vf_set_linkstate(handle, linkState);
        if (nodeGuid !== undefined) route.rtnl_link_vf_set_ib_node_guid(handle, nodeGuid);
      });
    }
    if (portGuid !== undefined) {
      infos.push((handle) => route.rtnl_link_vf_set_ib_port_guid(handle, portGuid));
    }
    if (infos.length === 0) return;
    // The PF by its index alone: rtnl_link_get_kernel() asks for the VF list too, which a kernel
    // cannot send for a PF with many VFs (EMSGSIZE), and a change without flags takes nothing
    // else from the original.
    this.#changeKernelLink(index, false, (changes) => {
      // rtnl_link_vf_add() puts each VF object at the head of the link's list, and libnl sends
      // the list in that order: adding them in reverse keeps link state and node GUID first.
      for (const fill of infos.reverse()) {
        // rtnl_link_vf_add() takes a reference of its own; this one is dropped at the block's end.
        using info = new Owned(
          unwrapPointer(route.rtnl_link_vf_alloc()),
          (p) => route.rtnl_link_vf_put(p),
        );
        route.rtnl_link_vf_set_index(info.pointer, vf);
        fill(info.pointer);
        unwrap(route.rtnl_link_vf_add(changes, info.pointer));
      }
    });
  }

  /**
   * Changes a link with `rtnl_link_change`, against the original as the kernel has it
   * (`fromKernel`, see `changeLink()` for why it matters) or as its index alone. `fill` sets the
   * changes on an empty `struct rtnl_link *`, valid only during the call.
   */
  #changeKernelLink(
    index: number,
    fromKernel: boolean,
    fill: (changes: Deno.PointerObject) => void,
  ): void {
    const { route } = openLibnl();
    const sk = this.sk;
    const out = new BigUint64Array(1);
    if (fromKernel) unwrap(route.rtnl_link_get_kernel(sk, index, null, out));
    using orig = new Owned(
      unwrapPointer(fromKernel ? outPointer(out) : route.rtnl_link_alloc()),
      (p) => route.rtnl_link_put(p),
    );
    if (!fromKernel) route.rtnl_link_set_ifindex(orig.pointer, index);
    using changes = new Owned(
      unwrapPointer(route.rtnl_link_alloc()),
      (p) => route.rtnl_link_put(p),
    );
    fill(changes.pointer);
    unwrap(route.rtnl_link_change(sk, orig.pointer, changes.pointer, 0));
  }

  /** Adds one alternative name to a link (`RTM_NEWLINKPROP`, see {@linkcode deleteAltName}). */
  addAltName(index: number, altName: string): void {
    this.#changeAltName(RTM_NEWLINKPROP, index, altName);
  }

  /**
   * Removes one alternative name from a link (`RTM_DELLINKPROP` with `IFLA_PROP_LIST` holding one
   * `IFLA_ALT_IFNAME`). libnl 3.7 has no API for it, so the message is built here.
   */
  deleteAltName(index: number, altName: string): void {
    this.#changeAltName(RTM_DELLINKPROP, index, altName);
  }

  #changeAltName(type: number, index: number, altName: string): void {
    const { core } = openLibnl();
    const sk = this.sk;
    using msg = linkRequest(type, index);
    // NLA_F_NESTED is set by hand: the kernel validates IFLA_PROP_LIST strictly, and libnl 3.7's
    // nla_nest_start() does not set the flag.
    const nest = unwrapPointer(core.nla_nest_start(msg.pointer, IFLA_PROP_LIST | NLA_F_NESTED));
    unwrap(core.nla_put_string(msg.pointer, IFLA_ALT_IFNAME, toCString(altName)));
    unwrap(core.nla_nest_end(msg.pointer, nest));
    unwrap(core.nl_send_auto(sk, msg.pointer));
    unwrap(core.nl_wait_for_ack(sk));
  }

  /**
   * Adds an address to a link (`rtnl_addr_add`, failing if it exists); an IPv4 address below /31
   * gets its broadcast address too, as the reference plugins set it.
   */
  addAddress(index: number, cidr: string): void {
    const { route } = openLibnl();
    using local = parseAddress(cidr);
    using addr = new Owned(unwrapPointer(route.rtnl_addr_alloc()), (p) => route.rtnl_addr_put(p));
    route.rtnl_addr_set_ifindex(addr.pointer, index);
    // rtnl_addr_set_local() takes its own reference and copies the prefix length.
    unwrap(route.rtnl_addr_set_local(addr.pointer, local.pointer));
    const broadcast = broadcastFor(cidr);
    if (broadcast !== null) {
      using brd = parseAddress(broadcast);
      unwrap(route.rtnl_addr_set_broadcast(addr.pointer, brd.pointer));
    }
    unwrap(route.rtnl_addr_add(this.sk, addr.pointer, NLM_F_EXCL));
  }

  /**
   * The global-scope IPv4 and IPv6 addresses of a link in CIDR form, in the kernel's order (a dump
   * of the namespace's, retried when interrupted).
   */
  listAddresses(index: number): string[] {
    const { route } = openLibnl();
    return readDump((out) => route.rtnl_addr_alloc_cache(this.sk, out), (obj) => {
      const local = route.rtnl_addr_get_local(obj);
      if (
        local === null || route.rtnl_addr_get_ifindex(obj) !== index ||
        route.rtnl_addr_get_scope(obj) !== RT_SCOPE_UNIVERSE
      ) {
        return null;
      }
      const addr = readAddress(local);
      if (addr.family !== AF_INET && addr.family !== AF_INET6) return null;
      return formatCidr({ ...addr, prefixLen: route.rtnl_addr_get_prefixlen(obj) });
    });
  }

  /**
   * Adds a route with one next hop through a link (`rtnl_route_add`, failing if it exists), with
   * protocol `boot` as `ip route add` and the reference plugins use.
   *
   * @throws {NetlinkError} When an address does not parse or the kernel refuses (`NLE_EXIST`, or
   *   ENETUNREACH as `NLE_FAILURE` for a gateway that no connected route reaches).
   */
  addRoute(index: number, spec: RouteSpec): void {
    const { route } = openLibnl();
    using rt = new Owned(unwrapPointer(route.rtnl_route_alloc()), (p) => route.rtnl_route_put(p));
    {
      using dst = parseAddress(spec.dst);
      unwrap(route.rtnl_route_set_dst(rt.pointer, dst.pointer));
    }
    route.rtnl_route_set_table(rt.pointer, spec.table ?? RT_TABLE_MAIN);
    route.rtnl_route_set_protocol(rt.pointer, RTPROT_BOOT);
    if (spec.scope !== undefined) route.rtnl_route_set_scope(rt.pointer, spec.scope);
    if (spec.priority !== undefined) route.rtnl_route_set_priority(rt.pointer, spec.priority);
    if (spec.mtu !== undefined) {
      unwrap(route.rtnl_route_set_metric(rt.pointer, RTAX_MTU, spec.mtu));
    }
    if (spec.advmss !== undefined) {
      unwrap(route.rtnl_route_set_metric(rt.pointer, RTAX_ADVMSS, spec.advmss));
    }
    // The route takes ownership of the next hop.
    using nh = new Owned(
      unwrapPointer(route.rtnl_route_nh_alloc()),
      (p) => route.rtnl_route_nh_free(p),
    );
    route.rtnl_route_nh_set_ifindex(nh.pointer, index);
    if (spec.gw !== undefined) {
      using gw = parseAddress(spec.gw);
      route.rtnl_route_nh_set_gateway(nh.pointer, gw.pointer);
    }
    route.rtnl_route_add_nexthop(rt.pointer, nh.pointer);
    nh.release();
    unwrap(route.rtnl_route_add(this.sk, rt.pointer, NLM_F_EXCL));
  }

  /**
   * The unicast routes with a next hop through a link, in every table but `local` (so the main
   * table and any the plugin added routes to), each with its `table` and `scope` (a dump of the
   * namespace's, all tables and families, retried when interrupted).
   */
  listRoutes(index: number): RouteSpec[] {
    const { route } = openLibnl();
    const metric = new Uint32Array(1);
    const readMetric = (obj: Deno.PointerObject, which: number): number | null =>
      route.rtnl_route_get_metric(obj, which, metric) < 0 ? null : metric[0] ?? null;
    const alloc = (out: BigUint64Array) => route.rtnl_route_alloc_cache(this.sk, AF_UNSPEC, 0, out);
    return readDump(alloc, (obj): RouteSpec | null => {
      const dst = route.rtnl_route_get_dst(obj);
      const table = route.rtnl_route_get_table(obj);
      if (
        dst === null || route.rtnl_route_get_type(obj) !== RTN_UNICAST || table === RT_TABLE_LOCAL
      ) {
        return null;
      }
      let through = false;
      let gateway: Deno.PointerValue = null;
      for (let n = 0; n < route.rtnl_route_get_nnexthops(obj); n++) {
        const nh = route.rtnl_route_nexthop_n(obj, n);
        if (nh === null || route.rtnl_route_nh_get_ifindex(nh) !== index) continue;
        through = true;
        gateway = route.rtnl_route_nh_get_gateway(nh);
        break;
      }
      if (!through) return null;
      const spec: RouteSpec = {
        dst: formatCidr(readAddress(dst)),
        table,
        scope: route.rtnl_route_get_scope(obj),
      };
      if (gateway !== null) {
        spec.gw = ipaddr.fromByteArray(Array.from(readAddress(gateway).bytes)).toString();
      }
      const priority = route.rtnl_route_get_priority(obj);
      if (priority !== 0) spec.priority = priority;
      const mtu = readMetric(obj, RTAX_MTU);
      if (mtu !== null) spec.mtu = mtu;
      const advmss = readMetric(obj, RTAX_ADVMSS);
      if (advmss !== null) spec.advmss = advmss;
      return spec;
    });
  }
}
