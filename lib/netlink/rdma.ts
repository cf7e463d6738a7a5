import type { RdmaNetnsMode } from "../../ffi/rdma_socket.ts";
import type { Netns } from "./netlink.ts";

export type { RdmaNetnsMode };

/**
 * RDMA netlink (`NETLINK_RDMA`, the `RDMA_NL_NLDEV` client): what RDMA isolation needs. Each
 * operation throws a `NetlinkError` whose message is what went wrong (the caller names the device
 * and the namespace): `errnoName` `EPROTONOSUPPORT` when the kernel has no RDMA netlink (`ib_core`
 * not loaded), `ENOENT` when the device is not in the namespace asked.
 */
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
