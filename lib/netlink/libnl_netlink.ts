/**
 * The real {@linkcode Netlink}: libnl over FFI, one `NETLINK_ROUTE` socket per namespace.
 *
 * A netlink socket stays bound to the namespace it was created in. So each namespace gets one
 * socket, opened while the thread is briefly inside it ({@linkcode withNetns}), and every later
 * request for that namespace goes through that socket from the host namespace: the thread enters
 * a namespace only to open a socket, never to make a change.
 *
 * @module
 */

import { NlSocket, type RouteSpec, type VfChange } from "../../ffi/rtnetlink.ts";
import { fileIdentity } from "../../ffi/netns_libc.ts";
import { hostNetns, type LostNetns, openNetns, withNetns } from "./netns.ts";
import type { LinkInfo, Netlink, Netns, VfSettings } from "./netlink.ts";

/** Loads libnl-3 and libnl-route-3, for the operator tool's `doctor`. */
export { openLibnl } from "../../ffi/libnl.ts";

/**
 * {@linkcode Netlink} over libnl. Holds one socket per `Netns` object it was given; `close()`
 * releases them. Errors are `NetlinkError`s, and `LibcError`s from namespace switches.
 */
export class LibnlNetlink implements Netlink, Disposable {
  #sockets = new Map<Netns, NlSocket>();
  readonly #lost: LostNetns;

  /** @param lost stops the process when a namespace switch cannot switch back */
  constructor(lost: LostNetns) {
    this.#lost = lost;
  }

  /** Closes every socket this object opened; idempotent. Namespace handles are the caller's. */
  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  openNetns = openNetns;
  hostNetns = hostNetns;

  sameNetns(a: Netns, b: Netns): boolean {
    const x = fileIdentity(a.fd);
    const y = fileIdentity(b.fd);
    return x.dev === y.dev && x.ino === y.ino;
  }

  linkByName(ns: Netns, name: string): LinkInfo | null {
    return this.#socket(ns).getLink({ name });
  }

  linkByIndex(ns: Netns, index: number): LinkInfo | null {
    return this.#socket(ns).getLink({ index });
  }

  setLinkUp(ns: Netns, index: number, up: boolean): void {
    this.#socket(ns).changeLink(index, { up });
  }

  renameLink(ns: Netns, index: number, name: string): void {
    this.#socket(ns).changeLink(index, { name });
  }

  setMtu(ns: Netns, index: number, mtu: number): void {
    this.#socket(ns).changeLink(index, { mtu });
  }

  addAltName(ns: Netns, index: number, altName: string): void {
    this.#socket(ns).addAltName(index, altName);
  }

  deleteAltName(ns: Netns, index: number, altName: string): void {
    this.#socket(ns).deleteAltName(index, altName);
  }

  /**
   * Moves a link into `target` and, given `name`, renames it there, in one `RTM_NEWLINK`
   * (`IFLA_NET_NS_FD` with `IFLA_IFNAME`). Its index may change there; look it up again by name.
   *
   * NOTE: the request is not atomic. When the link's current name is free in `target`, the
   * kernel moves it under that name and renames it afterwards, so `NLE_EXIST` for `name` leaves
   * the link moved, under its old name. Only when the current name is taken in `target` does the
   * kernel move it under `name` directly, and a clash of `name` then fails before the move.
   */
  moveLink(ns: Netns, index: number, target: Netns, name?: string): void {
    this.#socket(ns).changeLink(index, {
      nsFd: target.fd,
      ...(name === undefined ? {} : { name }),
    });
  }

  addAddress(ns: Netns, index: number, cidr: string): void {
    this.#socket(ns).addAddress(index, cidr);
  }

  listAddresses(ns: Netns, index: number): string[] {
    return this.#socket(ns).listAddresses(index);
  }

  addRoute(ns: Netns, index: number, route: RouteSpec): void {
    this.#socket(ns).addRoute(index, route);
  }

  listRoutes(ns: Netns, index: number): RouteSpec[] {
    return this.#socket(ns).listRoutes(index);
  }

  vfSettings(ns: Netns, pfIndex: number, vf: number): VfSettings | null {
    return this.#socket(ns).vfSettings(pfIndex, vf);
  }

  setVf(ns: Netns, pfIndex: number, vf: number, change: VfChange): void {
    this.#socket(ns).changeVf(pfIndex, vf, change);
  }

  /** The socket bound to `ns`, opened inside it on first use. */
  #socket(ns: Netns): NlSocket {
    let socket = this.#sockets.get(ns);
    if (socket === undefined) {
      socket = withNetns(ns, () => new NlSocket(), this.#lost);
      this.#sockets.set(ns, socket);
    }
    return socket;
  }
}
