import type { ResultRoute } from "../cni/result.ts";

/** A network namespace held open by a file descriptor. Closing it releases the fd. */
export interface Netns extends Disposable {
  /** The path it was opened from (`/proc/thread-self/ns/net` for the host). */
  readonly path: string;
  /** The open file descriptor (a fake number in the in-memory kernel). */
  readonly fd: number;
  /** Releases the fd; idempotent. */
  close(): void;
}

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
  /** The VF index. */
  vf: number;
  /**
   * `IFLA_VF_IB_NODE_GUID`, lower-case colon form (`02:00:00:00:00:00:00:01`); `null` when the
   * PF's driver does not report VF GUIDs (it has no `ndo_get_vf_guid`).
   */
  nodeGuid: string | null;
  /** `IFLA_VF_IB_PORT_GUID`, as `nodeGuid`. */
  portGuid: string | null;
  /** `IFLA_VF_LINK_STATE`; `null` when the PF does not report it. */
  linkState: VfLinkState | null;
}

/** A change to VF N made through its PF, in one `RTM_SETLINK`; absent fields are left alone. */
export interface VfChange {
  /** Colon form, any case. */
  nodeGuid?: string;
  portGuid?: string;
  linkState?: VfLinkState;
}

/**
 * What a `VfChange` sets, in words, for messages: `the link state and the node and port GUID`.
 *
 * @param change the change
 * @returns the settings it makes
 */
export function describeVfChange(change: VfChange): string {
  const parts: string[] = [];
  if (change.linkState !== undefined) parts.push("the link state");
  const node = change.nodeGuid !== undefined;
  const port = change.portGuid !== undefined;
  if (node && port) parts.push("the node and port GUID");
  else if (node) parts.push("the node GUID");
  else if (port) parts.push("the port GUID");
  return parts.join(" and ");
}

/**
 * Thrown by `Netlink.vfSettings` when the kernel cannot fit the PF's VF list in its reply
 * (EMSGSIZE): a kernel regression on PFs with many VFs (ib-sriov-cni pull request 172).
 */
export class VfListTooLargeError extends Error {
  override name = "VfListTooLargeError";
  /** The kernel's answer in words. */
  readonly reason: string;

  /**
   * @param message the full message
   * @param options `reason` (the kernel's answer, without what was attempted), `cause`
   */
  constructor(message: string, options: ErrorOptions & { reason: string }) {
    super(message, { cause: options.cause });
    this.reason = options.reason;
  }
}

/** Which VF setting a PF's driver refused. */
export type VfSetting = "guid" | "link_state";

/**
 * Thrown by `Netlink.setVf` when the PF's driver has no handler for a setting: the kernel's
 * EOPNOTSUPP to a well-formed request (an Ethernet PF, a veth, a driver without SR-IOV GUIDs).
 */
export class VfSettingUnsupportedError extends Error {
  override name = "VfSettingUnsupportedError";
  /** The setting that was refused. */
  readonly setting: VfSetting;
  /** The PF's netdev name. */
  readonly pf: string;
  /** The kernel's answer in words (libnl's text for EOPNOTSUPP). */
  readonly reason: string;

  /**
   * @param setting the refused setting
   * @param pf the PF's netdev name
   * @param message the full message
   * @param options `reason` (the kernel's answer, without what was attempted), `cause`
   */
  constructor(
    setting: VfSetting,
    pf: string,
    message: string,
    options: ErrorOptions & { reason: string },
  ) {
    super(message, { cause: options.cause });
    this.setting = setting;
    this.pf = pf;
    this.reason = options.reason;
  }
}

/** A route to add in a namespace: the route of an IPAM result, as it is. */
export type RouteSpec = ResultRoute;

/** Why a namespace could not be opened. */
export type NetnsFailure = "missing" | "not-netns" | "io";

/** Thrown by `Netlink.openNetns`. */
export class NetnsError extends Error {
  override name = "NetnsError";
  /** `missing`: no such path; `not-netns`: the path is not a network namespace. */
  readonly kind: NetnsFailure;
  /** The path that was asked for. */
  readonly path: string;
  /** What went wrong, without the path, e.g. `no such file`. */
  readonly reason: string;

  /**
   * @param kind what went wrong
   * @param path the path as given
   * @param message the full message
   * @param options `reason` (the message without what was attempted on which path), `cause`
   */
  constructor(
    kind: NetnsFailure,
    path: string,
    message: string,
    options: ErrorOptions & { reason: string },
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.path = path;
    this.reason = options.reason;
  }
}

/**
 * The kernel writes the plugin makes, and the link reads it needs around them. Every operation
 * names the namespace it runs in; links are addressed by ifindex because names change.
 */
export interface Netlink {
  /** Opens the namespace at `path`; throws `NetnsError`. */
  openNetns(path: string): Netns;
  /** Opens the namespace the plugin runs in. */
  hostNetns(): Netns;
  /** Whether two handles are the same namespace (same nsfs inode), whatever their paths. */
  sameNetns(a: Netns, b: Netns): boolean;
  /** Looks a link up by name; `null` when there is none. */
  linkByName(ns: Netns, name: string): LinkInfo | null;
  /** Looks a link up by ifindex; `null` when there is none. */
  linkByIndex(ns: Netns, index: number): LinkInfo | null;
  /** Sets the link administratively up or down. */
  setLinkUp(ns: Netns, index: number, up: boolean): void;
  /** Renames a link (it must be down). */
  renameLink(ns: Netns, index: number, name: string): void;
  /** Sets a link's MTU. */
  setMtu(ns: Netns, index: number, mtu: number): void;
  /** Adds one alternative name to a link. */
  addAltName(ns: Netns, index: number, altName: string): void;
  /** Removes one alternative name from a link. */
  deleteAltName(ns: Netns, index: number, altName: string): void;
  /**
   * Moves a link into `target`, renamed to `name` when given (one request, not atomic: see
   * `LibnlNetlink.moveLink`); the caller looks it up again there, by name.
   */
  moveLink(ns: Netns, index: number, target: Netns, name?: string): void;
  /** Adds an address (`CIDR` form, v4 or v6) to a link. */
  addAddress(ns: Netns, index: number, cidr: string): void;
  /** The addresses of a link in `CIDR` form, global scope only. */
  listAddresses(ns: Netns, index: number): string[];
  /** Adds a route through a link. */
  addRoute(ns: Netns, index: number, route: RouteSpec): void;
  /** The routes through a link in the main table (and the tables named by the caller). */
  listRoutes(ns: Netns, index: number): RouteSpec[];
  /**
   * VF `vf`'s settings as the PF at `pfIndex` reports them (`RTM_GETLINK` with `IFLA_EXT_MASK`
   * `RTEXT_FILTER_VF`); `null` when the PF lists no such VF. Throws `VfListTooLargeError` when
   * the kernel cannot send the list.
   */
  vfSettings(ns: Netns, pfIndex: number, vf: number): VfSettings | null;
  /**
   * Changes VF `vf` through the PF at `pfIndex` (`IFLA_VFINFO_LIST`/`IFLA_VF_INFO` with
   * `IFLA_VF_IB_NODE_GUID`, `IFLA_VF_IB_PORT_GUID`, `IFLA_VF_LINK_STATE`). A new GUID reaches
   * the VF only when its driver is rebound. Throws `VfSettingUnsupportedError` on EOPNOTSUPP.
   */
  setVf(ns: Netns, pfIndex: number, vf: number, change: VfChange): void;
}
