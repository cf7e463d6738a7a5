import type {
  LinkInfo,
  RouteSpec,
  VfChange,
  VfLinkState,
  VfSettings,
} from "../../ffi/rtnetlink.ts";

/** The one model of links, VFs and routes: the route-netlink binding's. */
export type { LinkInfo, RouteSpec, VfChange, VfLinkState, VfSettings };
/** The error of every netlink operation (a namespace switch's is a `LibcError`). */
export { NetlinkError, NleCode } from "../../ffi/unwrap.ts";

/** A network namespace held open by a file descriptor. Closing it releases the fd. */
export interface Netns extends Disposable {
  /** The path it was opened from (`/proc/thread-self/ns/net` for the host). */
  readonly path: string;
  /** The open file descriptor (a fake number in the in-memory kernel). */
  readonly fd: number;
  /** Releases the fd; idempotent. */
  close(): void;
}

/**
 * The kernel writes the plugin makes, and the link reads it needs around them. Every operation
 * names the namespace it runs in; links are addressed by ifindex because names change. A failure's
 * message is the kernel's answer (`Object busy`): the caller names the step, the link and the
 * namespace as the user knows them.
 */
export interface Netlink {
  /**
   * Opens the namespace at `path`. Throws a `LibcError`: `ENOENT` (`no such file`) when nothing
   * is there, `EINVAL` (`not a network namespace`) when it is not a namespace.
   */
  openNetns(path: string): Netns;
  /** Opens the namespace the plugin runs in. */
  hostNetns(): Netns;
  /** Whether two handles are the same namespace (same nsfs inode), whatever their paths. */
  sameNetns(a: Netns, b: Netns): boolean;
  /** Looks a link up by name; `null` when there is none. */
  linkByName(ns: Netns, name: string): LinkInfo | null;
  /** Looks a link up by ifindex; `null` when there is none. */
  linkByIndex(ns: Netns, index: number): LinkInfo | null;
  setLinkUp(ns: Netns, index: number, up: boolean): void;
  /** Renames a link (it must be down). */
  renameLink(ns: Netns, index: number, name: string): void;
  setMtu(ns: Netns, index: number, mtu: number): void;
  addAltName(ns: Netns, index: number, altName: string): void;
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
  addRoute(ns: Netns, index: number, route: RouteSpec): void;
  /** The routes through a link in the main table (and the tables named by the caller). */
  listRoutes(ns: Netns, index: number): RouteSpec[];
  /**
   * VF `vf`'s settings as the PF at `pfIndex` reports them; `null` when the PF lists no such VF.
   * `errnoName` `EMSGSIZE` when the kernel cannot fit the PF's VF list in its reply (a regression
   * with many VFs, ib-sriov-cni pull request 172).
   */
  vfSettings(ns: Netns, pfIndex: number, vf: number): VfSettings | null;
  /**
   * Changes VF `vf` through the PF at `pfIndex`. A new GUID reaches the VF only when its driver is
   * rebound. `NLE_OPNOTSUPP` when the PF's driver has no handler for a setting (the kernel does not
   * say which).
   */
  setVf(ns: Netns, pfIndex: number, vf: number, change: VfChange): void;
}
