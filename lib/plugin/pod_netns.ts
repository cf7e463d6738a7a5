import { errorReason } from "../error_message.ts";
import { kernelError, netnsError } from "./to_cni_error.ts";
import { quote } from "../cni/quote.ts";
import { Errno, LibcError } from "../../ffi/errno.ts";
import type { Netlink, Netns } from "../netlink/netlink.ts";
import { THREAD_NETNS_PATH } from "../netlink/netns.ts";

/**
 * Opens the pod's network namespace (`CNI_NETNS`) for ADD or CHECK.
 *
 * @throws {CniError} code 8 naming CNI_NETNS when it is missing or not a netns
 */
export function openPodNetns(netlink: Netlink, path: string): Netns {
  try {
    return netlink.openNetns(path);
  } catch (err) {
    const why = errorReason(err);
    throw netnsError(`CNI_NETNS ${quote(path)} cannot be used: ${why}`, { cause: err });
  }
}

/**
 * Opens the pod's namespace (`CNI_NETNS`, possibly empty) for DEL or GC, where a namespace that
 * is gone or broken is expected (the pod died first) and means "undo from the host side": `null`.
 *
 * @throws {CniError} code 101 for a failure other than missing / not a netns
 */
export function openPodNetnsIfAlive(netlink: Netlink, path: string): Netns | null {
  if (path === "") return null;
  try {
    return netlink.openNetns(path);
  } catch (err) {
    // No file there, or no namespace: a pod netns that is gone.
    if (err instanceof LibcError && (err.errno === Errno.ENOENT || err.errno === Errno.EINVAL)) {
      return null;
    }
    const why = errorReason(err);
    throw kernelError(`CNI_NETNS ${quote(path)} cannot be opened: ${why}`, { cause: err });
  }
}

/**
 * Names a namespace for a message as the user knows it: the pod's by the `CNI_NETNS` path it was
 * opened from (`netns "<path>"`), the plugin's own as "the host netns" rather than the path of
 * its handle (`/proc/thread-self/ns/net`), which means nothing to an operator.
 */
export function netnsName(ns: Netns): string {
  return ns.path === THREAD_NETNS_PATH ? "the host netns" : `netns ${quote(ns.path)}`;
}
