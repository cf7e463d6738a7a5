import { quote } from "../cni/quote.ts";
import { errorReason } from "../error_message.ts";
import { NetlinkError, type Netns } from "../netlink/netlink.ts";
import type { NetdevVfRecord } from "../state/store.ts";
import type { Deps } from "./deps.ts";
import { deviceError, kernelError, kernelStep } from "./to_cni_error.ts";
import { netnsName } from "./pod_netns.ts";
import { withNodeLock } from "./node_lock.ts";
import { restoreRecreatedNetdev } from "./rebind.ts";

/** What an operator runs to make RDMA isolation possible. */
const EXCLUSIVE_FIX =
  "run `rdma system set netns exclusive` on the node, or load ib_core with netns_mode=0 " +
  "(options ib_core netns_mode=0 in /etc/modprobe.d, then reload the RDMA drivers)";

/**
 * Refuses `rdmaIsolation` on a node whose RDMA subsystem cannot move devices between
 * namespaces: no RDMA netlink at all, or the shared mode, where every namespace sees every
 * device and a move is refused.
 *
 * @throws {CniError} code 101 saying what to change on the node
 */
export function assertRdmaExclusive(deps: Deps): void {
  let mode: string;
  try {
    mode = deps.rdma.netnsMode();
  } catch (err) {
    const unsupported = err instanceof NetlinkError && err.errnoName === "EPROTONOSUPPORT";
    throw kernelError(
      `rdmaIsolation is true but ${
        unsupported ? "" : "the RDMA subsystem's netns mode cannot be read: "
      }${errorReason(err)}`,
      {
        details: unsupported ? "load the RDMA drivers (ib_core, mlx5_ib)" : EXCLUSIVE_FIX,
        cause: err,
      },
    );
  }
  if (mode !== "exclusive") {
    throw kernelError(
      `rdmaIsolation is true but the RDMA subsystem's netns mode is ${
        quote(mode)
      }, not "exclusive"`,
      { details: EXCLUSIVE_FIX },
    );
  }
}

/**
 * The VF's one RDMA device, as sysfs shows it in the host.
 *
 * @throws {CniError} code 100 when the VF has none or more than one
 */
export function rdmaDeviceOf(deps: Deps, pci: string): string {
  const devices = kernelStep(
    `Cannot list the RDMA devices of ${quote(pci)}`,
    () => deps.sysfs.rdmaDevices(pci),
  );
  if (devices.length !== 1) {
    throw deviceError(
      `rdmaIsolation is true but VF ${quote(pci)} has ${
        devices.length === 0
          ? "no RDMA device"
          : `${devices.length} RDMA devices (${devices.join(", ")})`
      } in the host; exactly one is needed`,
      { details: "is mlx5_ib loaded, and is the device not already in another namespace?" },
    );
  }
  return devices[0]!;
}

/**
 * Moves an RDMA device between namespaces under the node lock.
 *
 * @throws {CniError} code 101 naming the device and both namespaces
 */
export async function moveRdmaDevice(
  deps: Deps,
  from: Netns,
  name: string,
  to: Netns,
): Promise<void> {
  await withNodeLock(deps, () =>
    kernelStep(
      `Cannot move RDMA device ${quote(name)} from ${netnsName(from)} to ${netnsName(to)}`,
      () => deps.rdma.moveDevice(from, name, to),
    ));
}

/**
 * Brings an isolated RDMA device back to the host, if it is still in the pod, and gives the VF
 * netdev that the move recreates (under the kernel's `ibN` name, down) its host name and state.
 * A pod netns that died has already returned its devices to the host, so `pod === null` is
 * nothing to do. `true` when it moved the device.
 *
 * @throws {CniError} code 101 when listing, moving or renaming fails
 */
export async function returnRdmaToHost(
  deps: Deps,
  record: Pick<NetdevVfRecord, "rdmaDevice" | "deviceId" | "hostIfName" | "hostIfUp">,
  host: Netns,
  pod: Netns | null,
): Promise<boolean> {
  const name = record.rdmaDevice;
  if (name === undefined || pod === null) return false;
  const inPod = kernelStep(
    `Cannot list RDMA devices in netns ${quote(pod.path)}`,
    () => deps.rdma.devices(pod),
  );
  if (!inPod.includes(name)) return false;
  await moveRdmaDevice(deps, pod, name, host);
  await restoreRecreatedNetdev(deps, host, record);
  return true;
}
