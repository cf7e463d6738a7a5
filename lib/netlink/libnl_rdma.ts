/**
 * The real {@linkcode Rdma}: RDMA netlink (`NETLINK_RDMA`, the NLDEV client) through libnl, one
 * socket per namespace.
 *
 * The kernel answers an RDMA netlink request for the namespace the socket was created in: a
 * device dump lists that namespace's devices, and `RDMA_NLDEV_CMD_SET` finds the device by index
 * there. So, as {@linkcode LibnlNetlink} does for `NETLINK_ROUTE`, each namespace gets one socket,
 * opened while the thread is briefly inside it, and used from the host afterwards.
 *
 * @module
 */

import { RdmaSocket } from "../../ffi/rdma_socket.ts";
import { NetlinkError, NleCode } from "../../ffi/unwrap.ts";
import type { Netns } from "./netlink.ts";
import { type LostNetns, withNetns } from "./netns.ts";
import type { Rdma, RdmaNetnsMode } from "./rdma.ts";

/** Why a kernel without `ib_core` refuses every RDMA netlink request, and what to do. */
export const NO_RDMA_NETLINK = "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported " +
  "protocol); load the ib_core module (modprobe ib_core)";

/**
 * A failed RDMA netlink call's error, worded for the node's operator. Only opening the socket can
 * fail with `NLE_PROTO_MISMATCH`: `socket(AF_NETLINK, SOCK_RAW, NETLINK_RDMA)` gets EPROTONOSUPPORT
 * when `ib_core`, which registers the protocol, is not loaded. Anything else keeps libnl's text.
 */
export function rdmaErrorOf(error: NetlinkError): NetlinkError {
  if (error.code !== NleCode.ProtoMismatch) return error;
  return new NetlinkError(NleCode.ProtoMismatch, NO_RDMA_NETLINK, undefined, { cause: error });
}

function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw error instanceof NetlinkError ? rdmaErrorOf(error) : error;
  }
}

/**
 * {@linkcode Rdma} over libnl. Holds one socket per `Netns` object it was given, and one in the
 * namespace it was created in for the global netns mode; `close()` releases them. Errors are
 * `NetlinkError`s, and `LibcError`s when a namespace cannot be entered to open its socket.
 */
export class LibnlRdma implements Rdma, Disposable {
  #sockets = new Map<Netns, RdmaSocket>();
  #current: RdmaSocket | null = null;
  readonly #lost: LostNetns;

  /** @param lost stops the process when a namespace switch cannot switch back */
  constructor(lost: LostNetns) {
    this.#lost = lost;
  }

  /** Closes every socket this object opened; idempotent. Namespace handles are the caller's. */
  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
    this.#current?.close();
    this.#current = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  netnsMode(): RdmaNetnsMode {
    return translate(() => {
      // The mode is global, so the namespace the plugin runs in will do.
      this.#current ??= new RdmaSocket();
      return this.#current.netnsMode();
    });
  }

  devices(ns: Netns): string[] {
    return translate(() => this.#socket(ns).devices().map((d) => d.name).sort());
  }

  /**
   * Finds the device's index with a dump on `from`'s socket (the kernel's SET needs an index),
   * then moves it with `RDMA_NLDEV_CMD_SET` on the same socket. The kernel refuses with
   * EOPNOTSUPP in shared mode or for a device that cannot move.
   */
  moveDevice(from: Netns, name: string, to: Netns): void {
    translate(() => {
      const socket = this.#socket(from);
      const device = socket.devices().find((d) => d.name === name);
      if (device === undefined) {
        throw new NetlinkError(NleCode.ObjNotFound, "no such device in the source netns");
      }
      socket.setNetns(device.index, to.fd);
    });
  }

  /** The socket bound to `ns`, opened inside it on first use. */
  #socket(ns: Netns): RdmaSocket {
    let socket = this.#sockets.get(ns);
    if (socket === undefined) {
      socket = withNetns(ns, () => new RdmaSocket(), this.#lost);
      this.#sockets.set(ns, socket);
    }
    return socket;
  }
}
