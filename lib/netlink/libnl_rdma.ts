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
import { type ErrorContext, NetlinkError, NleCode } from "../../ffi/unwrap.ts";
import type { Netns } from "./netlink.ts";
import { type LostNetns, withNetns } from "./netns.ts";
import { type Rdma, RdmaError, type RdmaNetnsMode } from "./rdma.ts";
import { quote } from "../cni/quote.ts";

/** Why a kernel without `ib_core` refuses every RDMA netlink request, and what to do. */
export const NO_RDMA_NETLINK = "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported " +
  "protocol); load the ib_core module (modprobe ib_core)";

/**
 * Turns a failed RDMA netlink call into an {@linkcode RdmaError}. Only opening the socket can
 * fail with `NLE_PROTO_MISMATCH`: `socket(AF_NETLINK, SOCK_RAW, NETLINK_RDMA)` gets
 * EPROTONOSUPPORT when `ib_core`, which registers the protocol, is not loaded.
 *
 * @param error What libnl threw; its op and subject name the request.
 * @returns `unsupported` for a kernel without RDMA netlink, `io` with libnl's text otherwise.
 *
 * @example
 * ```ts ignore
 * rdmaErrorOf(error).message;
 * // 'Cannot list RDMA devices in netns "/var/run/netns/x": the kernel has no RDMA netlink ...'
 * ```
 */
export function rdmaErrorOf(error: NetlinkError): RdmaError {
  if (error.code === NleCode.ProtoMismatch) {
    return new RdmaError("unsupported", `${error.op} ${error.subject}: ${NO_RDMA_NETLINK}`, {
      reason: NO_RDMA_NETLINK,
      cause: error,
    });
  }
  return new RdmaError("io", error.message, { reason: error.reason, cause: error });
}

/** Runs an RDMA netlink call, turning libnl's errors into `RdmaError`s. */
function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof NetlinkError) throw rdmaErrorOf(error);
    throw error;
  }
}

/**
 * {@linkcode Rdma} over libnl. Holds one socket per `Netns` object it was given, and one in the
 * namespace it was created in for the global netns mode; `close()` releases them.
 *
 * @example
 * ```ts ignore
 * using rdma = new LibnlRdma(stop);
 * if (rdma.netnsMode() === "exclusive") rdma.moveDevice(host, "mlx5_3", pod);
 * ```
 */
export class LibnlRdma implements Rdma, Disposable {
  #sockets = new Map<Netns, RdmaSocket>();
  #current: RdmaSocket | null = null;
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
    this.#current?.close();
    this.#current = null;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * @returns `exclusive` or `shared`.
   * @throws {RdmaError} `unsupported` when the kernel has no RDMA netlink, `io` when the request
   *   fails or the reply does not parse.
   */
  netnsMode(): RdmaNetnsMode {
    const context = { op: "Cannot read", subject: "the RDMA netns mode" };
    return translate(() => {
      // The mode is global, so the namespace the plugin runs in will do.
      this.#current ??= RdmaSocket.open(context);
      return this.#current.netnsMode(context);
    });
  }

  /**
   * @param ns The namespace.
   * @returns The names of its RDMA devices, sorted; in shared mode, every device.
   * @throws {RdmaError} `unsupported` when the kernel has no RDMA netlink, `io` when the dump
   *   fails.
   * @throws {NetnsError} When `ns` cannot be entered to open its socket.
   */
  devices(ns: Netns): string[] {
    const context = { op: "Cannot list RDMA devices", subject: `in netns ${quote(ns.path)}` };
    return translate(() => this.#socket(ns, context).devices(context).map((d) => d.name).sort());
  }

  /**
   * Finds the device's index with a dump on `from`'s socket (the kernel's SET needs an index),
   * then moves it with `RDMA_NLDEV_CMD_SET` on the same socket.
   *
   * @param from The namespace the device is in.
   * @param name The device, e.g. `mlx5_3`.
   * @param to The namespace to move it into.
   * @throws {RdmaError} `not-found` when `from` has no such device (`RDMA device "mlx5_3" is not
   *   in netns "/var/run/netns/x"`), `unsupported` when the kernel has no RDMA netlink, `io` when
   *   the kernel refuses (EOPNOTSUPP in shared mode or for a device that cannot move).
   * @throws {NetnsError} When `from` cannot be entered to open its socket.
   */
  moveDevice(from: Netns, name: string, to: Netns): void {
    const context = {
      op: "Cannot move RDMA device",
      subject: `${quote(name)} from netns ${quote(from.path)} to netns ${quote(to.path)}`,
    };
    translate(() => {
      // 1. The device's index, as `from` sees it.
      const socket = this.#socket(from, context);
      const device = socket.devices(context).find((d) => d.name === name);
      if (device === undefined) {
        throw new RdmaError(
          "not-found",
          `RDMA device ${quote(name)} is not in netns ${quote(from.path)}`,
          { reason: "no such device in the source netns" },
        );
      }
      // 2. The move. The kernel re-registers the device in `to`, which recreates its IPoIB
      //    netdev in the host.
      socket.setNetns(device.index, to.fd, context);
    });
  }

  /** The socket bound to `ns`, opened inside it on first use. */
  #socket(ns: Netns, context: ErrorContext): RdmaSocket {
    let socket = this.#sockets.get(ns);
    if (socket === undefined) {
      socket = withNetns(ns, () => RdmaSocket.open(context), this.#lost);
      this.#sockets.set(ns, socket);
    }
    return socket;
  }
}
