import type { Ipam } from "../ipam/ipam.ts";
import type { Netlink } from "../netlink/netlink.ts";
import type { Store } from "../state/store.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";

/** Everything the handlers touch outside their own memory; `cli.ts` builds the real ones. */
export interface Deps {
  sysfs: Sysfs;
  netlink: Netlink;
  ipam: Ipam;
  store: Store;
  /** Receives log lines (stderr in production). */
  log: (line: string) => void;
  /** How long to wait for a device lock before answering "try again later". */
  lockTimeoutMs: number;
}
