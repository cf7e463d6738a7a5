/**
 * The real {@linkcode Netlink}: libnl over FFI, one `NETLINK_ROUTE` socket per namespace.
 *
 * A netlink socket stays bound to the namespace it was created in. So each namespace gets one
 * socket, opened while the thread is briefly inside it ({@linkcode withNetns}), and every later
 * request for that namespace goes through that socket from the host namespace: the thread enters
 * a namespace only to open a socket, never to make a change.
 *
 * Errors are `NetlinkError`s (from `ffi/unwrap.ts`) whose message names the link and the
 * namespace path, e.g. `Cannot move link "ib3" to netns "/var/run/netns/x": Object busy`.
 *
 * @module
 */

import ipaddr from "ipaddr.js";
import {
  NlSocket,
  type RawAddress,
  type RawLink,
  type RawVf,
  type RouteEntry,
  type VfWrite,
} from "../../ffi/handles.ts";
import { type ErrorContext, NetlinkError, netlinkError, NleCode } from "../../ffi/unwrap.ts";
import { fileIdentity } from "../../ffi/netns_libc.ts";

/** Loads libnl-3 and libnl-route-3, for the operator tool's `doctor`. */
export { openLibnl } from "../../ffi/libnl.ts";
import { hostNetns, type LostNetns, NetnsHandle, openNetns, withNetns } from "./netns.ts";
import {
  describeVfChange,
  type LinkInfo,
  type Netlink,
  type Netns,
  type RouteSpec,
  type VfChange,
  type VfLinkState,
  type VfSettings,
  VfSettingUnsupportedError,
} from "./netlink.ts";
import { quote } from "../cni/quote.ts";

/** `<linux/if.h>` */
const IFF_UP = 0x1;
/** `<sys/socket.h>` */
const AF_INET = 2;
const AF_INET6 = 10;
/** `<linux/rtnetlink.h>` */
const RT_SCOPE_UNIVERSE = 0;
const RT_TABLE_LOCAL = 255;
const RTN_UNICAST = 1;
/** `<linux/if_link.h>`: `IFLA_VF_LINK_STATE_AUTO`, `_ENABLE`, `_DISABLE`, by value. */
const VF_LINK_STATES: readonly VfLinkState[] = ["auto", "enable", "disable"];
/** A GUID in colon form: 8 hexadecimal bytes, most significant first. */
const GUID = /^([0-9a-f]{2}:){7}[0-9a-f]{2}$/i;

/** Formats a link-layer address in lower-case colon form. */
function formatHardwareAddress(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Formats an address with its prefix length; an empty address is the family's zero address. */
function formatCidr(addr: RawAddress): string {
  const width = addr.family === AF_INET6 ? 16 : 4;
  const bytes = addr.bytes.length === 0 ? new Array<number>(width).fill(0) : Array.from(addr.bytes);
  return `${ipaddr.fromByteArray(bytes).toString()}/${addr.prefixLen}`;
}

/** Formats an address without a prefix length. */
function formatIp(addr: RawAddress): string {
  return ipaddr.fromByteArray(Array.from(addr.bytes)).toString();
}

/** The IPv4 broadcast address the kernel's `ip addr add ... brd +` would set, or `null`. */
function broadcastFor(cidr: string): string | null {
  if (!ipaddr.IPv4.isValidCIDR(cidr)) return null;
  // /31 and /32 have no broadcast address (RFC 3021), as in the reference plugins.
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return prefix >= 31 ? null : ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString();
}

/** Turns the kernel's link into the interface's `LinkInfo`. */
function toLinkInfo(raw: RawLink): LinkInfo {
  return {
    index: raw.index,
    name: raw.name,
    mtu: raw.mtu,
    address: formatHardwareAddress(raw.address),
    up: (raw.flags & IFF_UP) !== 0,
    altNames: raw.altNames,
  };
}

/**
 * Formats a GUID as the kernel holds it (`__u64`, host order) in colon form: iproute2 and sysfs
 * print it most significant byte first, so `0x0200000000000001n` is `02:00:00:00:00:00:00:01`.
 */
function formatGuid(guid: bigint): string {
  return guid.toString(16).padStart(16, "0").replace(/(..)(?!$)/g, "$1:");
}

/** Parses a colon-form GUID into the `__u64` the kernel takes; `null` when it is not one. */
function parseGuid(text: string): bigint | null {
  return GUID.test(text) ? BigInt(`0x${text.replaceAll(":", "")}`) : null;
}

/** Turns the PF's `IFLA_VF_INFO` into the interface's `VfSettings`. */
function toVfSettings(raw: RawVf): VfSettings {
  return {
    vf: raw.vf,
    nodeGuid: raw.nodeGuid === null ? null : formatGuid(raw.nodeGuid),
    portGuid: raw.portGuid === null ? null : formatGuid(raw.portGuid),
    // A value this code does not know (a later kernel's) reads as "not reported".
    linkState: raw.linkState === null ? null : VF_LINK_STATES[raw.linkState] ?? null,
  };
}

/** Turns a `VfChange` into the numbers the kernel takes. */
function toVfWrite(change: VfChange, context: ErrorContext): VfWrite {
  const write: VfWrite = {};
  for (const key of ["nodeGuid", "portGuid"] as const) {
    const text = change[key];
    if (text === undefined) continue;
    const guid = parseGuid(text);
    if (guid === null) {
      throw netlinkError(NleCode.Inval, context, () => `invalid GUID ${quote(text)}`);
    }
    write[key] = guid;
  }
  if (change.linkState !== undefined) {
    write.linkState = VF_LINK_STATES.indexOf(change.linkState);
  }
  return write;
}

/** Turns a dumped route into a `RouteSpec`, from the next hop through `index`. */
function toRouteSpec(entry: RouteEntry, index: number): RouteSpec {
  const spec: RouteSpec = { dst: formatCidr(entry.dst), table: entry.table, scope: entry.scope };
  const gateway = entry.nexthops.find((nh) => nh.ifindex === index)?.gateway ?? null;
  if (gateway !== null) spec.gw = formatIp(gateway);
  if (entry.priority !== 0) spec.priority = entry.priority;
  if (entry.mtu !== null) spec.mtu = entry.mtu;
  if (entry.advmss !== null) spec.advmss = entry.advmss;
  return spec;
}

/**
 * {@linkcode Netlink} over libnl. Holds one socket per `Netns` object it was given; `close()`
 * releases them.
 *
 * @example
 * ```ts ignore
 * using netlink = new LibnlNetlink(stop);
 * using pod = netlink.openNetns("/var/run/netns/pod1");
 * const link = netlink.linkByName(pod, "net1");
 * ```
 */
export class LibnlNetlink implements Netlink, Disposable {
  #sockets = new Map<Netns, NlSocket>();
  readonly #lost: LostNetns;

  /** @param lost stops the process when a namespace switch cannot switch back */
  constructor(lost: LostNetns) {
    this.#lost = lost;
  }

  /**
   * Closes every socket this object opened; idempotent. Namespace handles belong to the caller.
   */
  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * @param path The namespace's path.
   * @returns The namespace, held open.
   * @throws {NetnsError} `missing`, `not-netns` or `io`.
   */
  openNetns(path: string): NetnsHandle {
    return openNetns(path);
  }

  /**
   * @returns The namespace the plugin runs in.
   * @throws {NetnsError} `io` when `/proc` cannot be read.
   */
  hostNetns(): NetnsHandle {
    return hostNetns();
  }

  /**
   * @param a A namespace.
   * @param b Another.
   * @returns Whether both fds refer to the same nsfs inode.
   * @throws {LibcError} When `fstat()` fails.
   */
  sameNetns(a: Netns, b: Netns): boolean {
    const x = fileIdentity(a.fd);
    const y = fileIdentity(b.fd);
    return x.dev === y.dev && x.ino === y.ino;
  }

  /**
   * @param ns The namespace.
   * @param name A link name; the kernel also matches alternative names.
   * @returns The link, or `null` when there is none.
   * @throws {NetlinkError} When the lookup fails for another reason.
   */
  linkByName(ns: Netns, name: string): LinkInfo | null {
    const raw = this.#socket(ns).getLink({ name }, {
      op: "Cannot look up link",
      subject: `${quote(name)} in netns ${quote(ns.path)}`,
    });
    return raw === null ? null : toLinkInfo(raw);
  }

  /**
   * @param ns The namespace.
   * @param index An ifindex.
   * @returns The link, or `null` when there is none.
   * @throws {NetlinkError} When the lookup fails for another reason.
   */
  linkByIndex(ns: Netns, index: number): LinkInfo | null {
    const raw = this.#socket(ns).getLink({ index }, {
      op: "Cannot look up link",
      subject: `with index ${index} in netns ${quote(ns.path)}`,
    });
    return raw === null ? null : toLinkInfo(raw);
  }

  /**
   * @param ns The namespace.
   * @param index The link.
   * @param up The administrative state to set.
   * @throws {NetlinkError} When the link is gone or the kernel refuses.
   */
  setLinkUp(ns: Netns, index: number, up: boolean): void {
    this.#socket(ns).changeLink(index, { up }, {
      op: "Cannot set link",
      subject: () =>
        `${this.#linkName(ns, index)} ${up ? "up" : "down"} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The link; it must be down.
   * @param name The new name.
   * @throws {NetlinkError} When the kernel refuses: `NLE_BUSY` while the link is up, `NLE_EXIST`
   *   when the name is taken.
   */
  renameLink(ns: Netns, index: number, name: string): void {
    this.#socket(ns).changeLink(index, { name }, {
      op: "Cannot rename link",
      subject: () => `${this.#linkName(ns, index)} to ${quote(name)} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The link.
   * @param mtu The MTU to set.
   * @throws {NetlinkError} When the kernel refuses (`NLE_INVAL` outside the device's range).
   */
  setMtu(ns: Netns, index: number, mtu: number): void {
    this.#socket(ns).changeLink(index, { mtu }, {
      op: "Cannot set the MTU of link",
      subject: () => `${this.#linkName(ns, index)} to ${mtu} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The link.
   * @param altName The alternative name to add.
   * @throws {NetlinkError} When the kernel refuses (`NLE_EXIST` when the name is taken).
   */
  addAltName(ns: Netns, index: number, altName: string): void {
    this.#socket(ns).addAltName(index, altName, {
      op: "Cannot add altname",
      subject: () =>
        `${quote(altName)} to link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The link.
   * @param altName One of its alternative names.
   * @throws {NetlinkError} When the kernel refuses (`NLE_NODEV` when the link has no such name).
   */
  deleteAltName(ns: Netns, index: number, altName: string): void {
    this.#socket(ns).deleteAltName(index, altName, {
      op: "Cannot delete altname",
      subject: () =>
        `${quote(altName)} of link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * Moves a link into `target` and, given `name`, renames it there, in one `RTM_NEWLINK`
   * (`IFLA_NET_NS_FD` with `IFLA_IFNAME`). Its index may change there; look it up again by name.
   *
   * NOTE: the request is not atomic. When the link's current name is free in `target`, the
   * kernel moves it under that name and renames it afterwards, so `NLE_EXIST` for `name` leaves
   * the link moved, under its old name. Only when the current name is taken in `target` does the
   * kernel move it under `name` directly, and a clash of `name` then fails before the move.
   *
   * @param ns The namespace the link is in.
   * @param index The link.
   * @param target The namespace to move it into.
   * @param name Its name in `target`; absent, it keeps its name.
   * @throws {NetlinkError} When the kernel refuses (`NLE_EXIST` when `target` has a link of the
   *   same name, or of `name`).
   */
  moveLink(ns: Netns, index: number, target: Netns, name?: string): void {
    this.#socket(ns).changeLink(
      index,
      { nsFd: target.fd, ...(name === undefined ? {} : { name }) },
      {
        op: "Cannot move link",
        subject: () =>
          `${this.#linkName(ns, index)} to netns ${quote(target.path)}` +
          (name === undefined ? "" : ` as ${quote(name)}`),
      },
    );
  }

  /**
   * Adds an address; an IPv4 address below /31 gets its broadcast address too, as the
   * reference plugins set it.
   *
   * @param ns The namespace.
   * @param index The link.
   * @param cidr The address with its prefix length.
   * @throws {NetlinkError} When `cidr` does not parse (`NLE_INVAL`) or the kernel refuses
   *   (`NLE_EXIST` when it is there already).
   */
  addAddress(ns: Netns, index: number, cidr: string): void {
    this.#socket(ns).addAddress(index, cidr, broadcastFor(cidr), {
      op: "Cannot add address",
      subject: () => `${cidr} to link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The link.
   * @returns Its global-scope addresses in CIDR form (link-local and host addresses left out).
   * @throws {NetlinkError} When the dump fails.
   */
  listAddresses(ns: Netns, index: number): string[] {
    const entries = this.#socket(ns).listAddresses({
      op: "Cannot list addresses",
      subject: () => `of link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
    return entries
      .filter((entry) => entry.ifindex === index && entry.scope === RT_SCOPE_UNIVERSE)
      .filter((entry) => entry.local.family === AF_INET || entry.local.family === AF_INET6)
      .map((entry) => formatCidr(entry.local));
  }

  /**
   * @param ns The namespace.
   * @param index The outgoing link.
   * @param route The route; `table` defaults to main; without `scope` the kernel's usual choice
   *   (universe with a gateway, link without) applies.
   * @throws {NetlinkError} When an address does not parse or the kernel refuses (`NLE_EXIST`
   *   when the route is there already).
   */
  addRoute(ns: Netns, index: number, route: RouteSpec): void {
    const via = route.gw === undefined ? "" : ` via ${route.gw}`;
    this.#socket(ns).addRoute({
      ifindex: index,
      dst: route.dst,
      ...(route.gw === undefined ? {} : { gateway: route.gw }),
      ...(route.table === undefined ? {} : { table: route.table }),
      ...(route.scope === undefined ? {} : { scope: route.scope }),
      ...(route.priority === undefined ? {} : { priority: route.priority }),
      ...(route.mtu === undefined ? {} : { mtu: route.mtu }),
      ...(route.advmss === undefined ? {} : { advmss: route.advmss }),
    }, {
      op: "Cannot add route",
      subject: () =>
        `${route.dst}${via} through link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
  }

  /**
   * @param ns The namespace.
   * @param index The outgoing link.
   * @returns The unicast routes with a next hop through the link, in every table but `local`
   *   (so the main table and any the plugin added routes to), each with its `table` and `scope`.
   * @throws {NetlinkError} When the dump fails.
   */
  listRoutes(ns: Netns, index: number): RouteSpec[] {
    const entries = this.#socket(ns).listRoutes({
      op: "Cannot list routes",
      subject: () => `of link ${this.#linkName(ns, index)} in netns ${quote(ns.path)}`,
    });
    return entries
      .filter((entry) => entry.type === RTN_UNICAST && entry.table !== RT_TABLE_LOCAL)
      .filter((entry) => entry.nexthops.some((nh) => nh.ifindex === index))
      .map((entry) => toRouteSpec(entry, index));
  }

  /**
   * @param ns The namespace the PF is in.
   * @param pfIndex The PF's ifindex.
   * @param vf The VF index.
   * @returns The VF's settings; `null` when the PF lists no such VF (a veth lists none). GUIDs
   *   are `null` when the PF's driver does not report them.
   * @throws {NetlinkError} When the PF is gone (`NLE_NODEV`) or the lookup fails.
   */
  vfSettings(ns: Netns, pfIndex: number, vf: number): VfSettings | null {
    const context = {
      op: "Cannot read the settings",
      subject: () =>
        `of VF ${vf} through PF ${this.#linkName(ns, pfIndex)} in netns ${quote(ns.path)}`,
    };
    const raw = this.#socket(ns).getLink({ index: pfIndex }, context, { vfs: true });
    if (raw === null) throw netlinkError(NleCode.NoDev, context);
    const entry = raw.vfs.find((candidate) => candidate.vf === vf);
    return entry === undefined ? null : toVfSettings(entry);
  }

  /**
   * Sends the change in one request; a change with no field sends nothing (the kernel would
   * answer EINVAL to an empty `IFLA_VF_INFO`). Settings are applied in the order link state,
   * node GUID, port GUID, and the kernel stops at the first it refuses: when it refuses one,
   * those before it may have taken effect.
   *
   * @param ns The namespace the PF is in.
   * @param pfIndex The PF's ifindex.
   * @param vf The VF index.
   * @param change What to change; GUIDs in colon form, any case.
   * @throws {VfSettingUnsupportedError} When the kernel answers EOPNOTSUPP (the PF's driver has
   *   no handler): `setting` is `guid` when the change has a GUID, else `link_state`.
   * @throws {NetlinkError} `NLE_INVAL` for a GUID that is not in colon form, and any other
   *   refusal, named by VF, PF and namespace.
   */
  setVf(ns: Netns, pfIndex: number, vf: number, change: VfChange): void {
    const context = {
      op: `Cannot set ${describeVfChange(change)}`,
      subject: () =>
        `of VF ${vf} through PF ${this.#linkName(ns, pfIndex)} in netns ${quote(ns.path)}`,
    };
    // The socket first, so that an error about the change can name the PF.
    const socket = this.#socket(ns);
    const write = toVfWrite(change, context);
    if (Object.keys(write).length === 0) return;
    try {
      socket.changeVf(pfIndex, vf, write, context);
    } catch (error) {
      if (!(error instanceof NetlinkError) || error.code !== NleCode.OpNotSupp) throw error;
      const setting = change.nodeGuid !== undefined || change.portGuid !== undefined
        ? "guid"
        : "link_state";
      const reason = error.reason;
      throw new VfSettingUnsupportedError(
        setting,
        this.#rawLinkName(ns, pfIndex) ?? String(pfIndex),
        `${error.op} ${error.subject}: the PF's driver does not support it (${reason})`,
        { reason, cause: error },
      );
    }
  }

  /** The socket bound to `ns`, opened inside it on first use. */
  #socket(ns: Netns): NlSocket {
    let socket = this.#sockets.get(ns);
    if (socket === undefined) {
      socket = withNetns(ns, () => NlSocket.open(), this.#lost);
      this.#sockets.set(ns, socket);
    }
    return socket;
  }

  /** The quoted name of a link for an error message, or its index when it cannot be had. */
  #linkName(ns: Netns, index: number): string {
    const name = this.#rawLinkName(ns, index);
    return name === null ? `with index ${index}` : quote(name);
  }

  /** The name of a link, or `null` when it cannot be had; never throws. */
  #rawLinkName(ns: Netns, index: number): string | null {
    try {
      return this.#sockets.get(ns)?.getLink({ index }, { op: "", subject: "" })?.name ?? null;
    } catch {
      return null;
    }
  }
}
