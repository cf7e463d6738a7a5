import type { RdmaNetnsMode } from "../../ffi/rdma_socket.ts";
import type { Netns } from "./netlink.ts";

export type { RdmaNetnsMode };

/**
 * Why an RDMA netlink request failed: `unsupported` when the kernel has no RDMA netlink
 * (`ib_core` not loaded: the socket gets EPROTONOSUPPORT), `not-found` when the device is not
 * in the namespace asked, `io` for anything else.
 */
export type RdmaFailure = "unsupported" | "not-found" | "io";

/** Thrown by {@link Rdma}; the message is what went wrong, the caller names device and netns. */
export class RdmaError extends Error {
  override name = "RdmaError";
  /** The message, for callers that still read it under this name. */
  readonly reason: string;

  /**
   * @param kind what went wrong
   * @param options `reason` when it differs from the message (callers of old), `cause`
   */
  constructor(
    readonly kind: RdmaFailure,
    message: string,
    options: ErrorOptions & { reason?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.reason = options.reason ?? message;
  }
}

/** RDMA netlink (`NETLINK_RDMA`, the `RDMA_NL_NLDEV` client): what RDMA isolation needs. */
export interface Rdma {
  /** The subsystem's netns mode (`RDMA_NLDEV_CMD_SYS_GET`, `RDMA_NLDEV_SYS_ATTR_NETNS_MODE`). */
  netnsMode(): RdmaNetnsMode;
  /** Names of the RDMA devices in `ns` (`RDMA_NLDEV_CMD_GET` dump there), sorted. */
  devices(ns: Netns): string[];
  /**
   * Moves RDMA device `name` from `from` into `to` (`RDMA_NLDEV_CMD_SET` with
   * `RDMA_NLDEV_NET_NS_FD`). Only possible in exclusive mode; the kernel recreates the device's
   * IPoIB netdev in the host while doing it.
   */
  moveDevice(from: Netns, name: string, to: Netns): void;
}
