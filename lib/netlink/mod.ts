/**
 * The WRITE-privilege layer: links, addresses, routes and namespace switching. Importing this
 * module opens no library: libnl and libc are loaded on first use.
 *
 * @module
 */

export * from "./netlink.ts";
export { LibnlNetlink } from "./libnl_netlink.ts";
export {
  hostNetns,
  type LostNetns,
  NetnsHandle,
  openNetns,
  THREAD_NETNS_PATH,
  withNetns,
} from "./netns.ts";
