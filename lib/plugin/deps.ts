import type { Ipam } from "../ipam/ipam.ts";
import type { Netlink } from "../netlink/netlink.ts";
import type { PciDriver } from "../netlink/pci_driver.ts";
import type { Rdma } from "../netlink/rdma.ts";
import type { DeviceInfoStore } from "../state/device_info.ts";
import type { Store } from "../state/store.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import type { Timings } from "../timings.ts";

/** Everything the handlers touch outside their own memory; `cli.ts` builds the real ones. */
export interface Deps {
  sysfs: Sysfs;
  netlink: Netlink;
  pciDriver: PciDriver;
  rdma: Rdma;
  ipam: Ipam;
  store: Store;
  deviceInfo: DeviceInfoStore;
  /** Receives log lines when the config names no `logFile` (stderr in production). */
  log: (line: string) => void;
  /**
   * Opens a config's `logFile` for appending (created 0600; no directory beneath the log
   * directory is created) and returns a writer of whole lines; called at most once per request.
   * Throws when the file cannot be opened; the writer throws when a write fails. Either way the
   * request logs to {@link Deps.log} instead.
   */
  openLog: (path: string) => (line: string) => void;
  /** How long to wait for a device lock before answering "try again later". */
  lockTimeoutMs: number;
  /** How long to wait for a VF's netdev to come back after its driver is rebound. */
  netdevTimeoutMs: number;
  /** Waits `ms` milliseconds (a timer in production, instant in the in-memory tests). */
  sleep: (ms: number) => Promise<void>;
  /**
   * The run's phase timeline: each handler's calls to the dependencies above are recorded in it,
   * and the debug log prints it at the end of the command. Absent in tests that do not look.
   */
  timings?: Timings;
}
