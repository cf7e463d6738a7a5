/**
 * ib-sriov: a CNI plugin that attaches InfiniBand SR-IOV virtual functions to containers.
 * This module exports the handlers, the protocol and the errors; importing it has no side
 * effects and loads no native library.
 *
 * @module
 */
export * from "./lib/cni/mod.ts";
export * from "./lib/config/mod.ts";
export * from "./lib/plugin/mod.ts";
export type { Ipam, IpamCommand, IpamRequest } from "./lib/ipam/ipam.ts";
export type { LinkInfo, Netlink, Netns, RouteSpec } from "./lib/netlink/netlink.ts";
export type { AttachmentKey, AttachmentRecord, DeviceOwner, Store } from "./lib/state/store.ts";
export type { Sysfs } from "./lib/sysfs/sysfs.ts";
export * from "./lib/guid.ts";
