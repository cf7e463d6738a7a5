import { errorMessage } from "../error_message.ts";
import { guidFromSysfs, isAssignedGuid } from "../guid.ts";
import { NetlinkError } from "../netlink/netlink.ts";
import type { Sysfs } from "../sysfs/sysfs.ts";
import type { NodeReader } from "../sysfs/node_reader.ts";
import type { ToolIo } from "./tool_io.ts";

export type CheckStatus = "ok" | "warning" | "failure";

/** One check's outcome, as `doctor --json` prints it: what was checked (`kernel`), found, fixes. */
export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
  /** What to do about a warning or a failure. */
  fix?: string;
}

export interface DoctorOptions {
  /** `sysfs-root`: where `sys/` and `proc/` are read (`/` on the node). */
  root: string;
  /** `--rdma`: RDMA isolation is wanted, so a node that cannot do it fails. */
  rdma: boolean;
}

/** VF GUIDs through netlink and RDMA netns (`RDMA_NLDEV_NET_NS_FD`) both came in Linux 5.6. */
const MIN_KERNEL: readonly [number, number] = [5, 6];
/** How many unset VFs a message names before it just counts. */
const MAX_LISTED = 8;

function result(check: string, status: CheckStatus, message: string, fix?: string): CheckResult {
  return fix === undefined || status === "ok"
    ? { check, status, message }
    : { check, status, message, fix };
}

function checkLibnl(io: ToolIo): CheckResult {
  try {
    io.loadLibnl();
    return result("libnl", "ok", "libnl-3.so.200 and libnl-route-3.so.200 load");
  } catch (err) {
    return result(
      "libnl",
      "failure",
      errorMessage(err),
      "install libnl-3-200 and libnl-route-3-200 (Debian, Ubuntu) or libnl3 (RHEL)",
    );
  }
}

function checkKernel(node: NodeReader): CheckResult {
  const need = `${MIN_KERNEL[0]}.${MIN_KERNEL[1]}`;
  let release: string | null;
  try {
    release = node.kernelRelease();
  } catch (err) {
    return result("kernel", "warning", `cannot read the kernel release: ${errorMessage(err)}`);
  }
  const match = release === null ? null : /^(\d+)\.(\d+)/.exec(release);
  if (release === null || match === null) {
    return result(
      "kernel",
      "warning",
      `cannot tell the kernel version from ${release ?? "nothing"}`,
    );
  }
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major > MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor >= MIN_KERNEL[1])) {
    return result("kernel", "ok", `${release} (${need} or later: VF GUIDs and RDMA netns)`);
  }
  return result(
    "kernel",
    "failure",
    `${release} is older than ${need}: the kernel cannot set VF GUIDs or move RDMA devices`,
    `upgrade the node's kernel to ${need} or later`,
  );
}

function checkRdma(io: ToolIo, wanted: boolean): CheckResult {
  const bad: CheckStatus = wanted ? "failure" : "warning";
  const use = "needed only for rdmaIsolation";
  try {
    const mode = io.rdma().netnsMode();
    if (mode === "exclusive") return result("RDMA netns", "ok", "mode is exclusive");
    return result(
      "RDMA netns",
      bad,
      `mode is shared: every namespace sees every RDMA device (${use})`,
      "rdma system set netns exclusive, with no pod running; to keep it across reboots: " +
        "options ib_core netns_mode=0 in /etc/modprobe.d/",
    );
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoName === "EPROTONOSUPPORT") {
      return result(
        "RDMA netns",
        bad,
        `${err.message} (${use})`,
        "load the InfiniBand core: modprobe ib_core (the mlx5_ib driver loads it)",
      );
    }
    return result("RDMA netns", bad, `cannot read the mode: ${errorMessage(err)} (${use})`);
  }
}

/** One result per PF with SR-IOV enabled, and one about the VFs whose GUID is unset. */
function checkSriov(node: NodeReader, sysfs: Sysfs): CheckResult[] {
  const results: CheckResult[] = [];
  const unset: string[] = [];
  let withGuid = 0;
  let pfs = 0;
  try {
    for (const pf of node.pciDevices()) {
      const count = node.sriovNumVfs(pf) ?? 0;
      if (count === 0) continue;
      pfs++;
      const drivers = new Map<string, number>();
      for (let index = 0; index < count; index++) {
        const vf = node.virtfn(pf, index);
        if (vf === null) continue;
        const driver = sysfs.driver(vf) ?? "no driver";
        drivers.set(driver, (drivers.get(driver) ?? 0) + 1);
        const rdma = sysfs.rdmaDevices(vf)[0];
        const text = rdma === undefined ? null : sysfs.rdmaNodeGuid(vf, rdma);
        const guid = text === null ? null : guidFromSysfs(text);
        if (guid === null) continue;
        if (isAssignedGuid(guid)) withGuid++;
        else unset.push(`${vf} (VF ${index}, ${guid})`);
      }
      const netdev = sysfs.netdevs(pf)[0] ?? "no netdev";
      const byDriver = [...drivers].map(([d, n]) => `${n} ${d}`).join(", ");
      results.push(result(
        `SR-IOV PF ${pf}`,
        "ok",
        `${sysfs.driver(pf) ?? "no driver"}, ${netdev}: ${count} VFs (${byDriver || "none found"})`,
      ));
    }
  } catch (err) {
    results.push(result("SR-IOV", "failure", `cannot scan the PCI devices: ${errorMessage(err)}`));
    return results;
  }
  if (pfs === 0) {
    results.push(result(
      "SR-IOV",
      "warning",
      "no PCI device has SR-IOV enabled (sriov_numvfs is 0 or absent everywhere)",
      "enable VFs on the PF: echo <count> > /sys/bus/pci/devices/<pf>/sriov_numvfs, or let " +
        "the SR-IOV network operator do it",
    ));
    return results;
  }
  if (unset.length === 0) {
    results.push(result("VF GUIDs", "ok", `${withGuid} VFs with an RDMA device have a GUID`));
  } else {
    const listed = unset.slice(0, MAX_LISTED).join(", ");
    const more = unset.length > MAX_LISTED ? ` and ${unset.length - MAX_LISTED} more` : "";
    results.push(result(
      "VF GUIDs",
      "warning",
      `${
        unset.length === 1 ? "1 VF has" : `${unset.length} VFs have`
      } no GUID: ${listed}${more}; ` +
        "ADD fails on them unless the config gives one",
      "give each pod a GUID (guid, args.cni.guid, runtimeConfig.infinibandGUID; ib-kubernetes " +
        "assigns them), or set one: ip link set <pf> vf <n> node_guid <guid> port_guid <guid>",
    ));
  }
  return results;
}

async function checkStateDir(io: ToolIo): Promise<CheckResult> {
  try {
    await io.checkStateDir();
    return result("state directory", "ok", "writable");
  } catch (err) {
    return result(
      "state directory",
      "failure",
      errorMessage(err),
      "run the plugin as root, with /var/lib/cni/ib-sriov and /var/run/cni/ib-sriov on a " +
        "writable filesystem",
    );
  }
}

function checkStaleCache(io: ToolIo): CheckResult {
  let stale: string[];
  let total: number;
  try {
    const records = io.store().listAttachments();
    total = records.length;
    stale = records
      .filter((r) => r.netns !== "" && !io.netnsExists(r.netns))
      .map((r) => `${r.containerId}/${r.ifname} (${r.deviceId}, netns ${r.netns})`);
  } catch (err) {
    return result("cache", "warning", `cannot read the attachment cache: ${errorMessage(err)}`);
  }
  if (stale.length === 0) {
    return result("cache", "ok", `${total} attachment records, none stale`);
  }
  return result(
    "cache",
    "warning",
    `${stale.length} of ${total} attachment records name a netns that is gone: ${stale.join(", ")}`,
    "the runtime's DEL or GC of those containers removes them and frees their VFs",
  );
}

/**
 * Runs every check of `doctor`, in order: libnl, kernel, RDMA netns mode, SR-IOV PFs, VF
 * GUIDs, state directory, stale cache entries. No check throws: a check that cannot run is a
 * warning or a failure saying why.
 */
export async function runChecks(io: ToolIo, options: DoctorOptions): Promise<CheckResult[]> {
  const node = io.nodeReader(options.root);
  return [
    checkLibnl(io),
    checkKernel(node),
    checkRdma(io, options.rdma),
    ...checkSriov(node, io.sysfs(options.root)),
    await checkStateDir(io),
    checkStaleCache(io),
  ];
}

/** Results for a person: one line per check, the fix under each that has one, a summary. */
export function formatChecks(results: CheckResult[]): string {
  const lines = results.flatMap((r) => {
    const head = `${r.status.padEnd(8)} ${r.check}: ${r.message}`;
    return r.fix === undefined ? [head] : [head, `${" ".repeat(9)}fix: ${r.fix}`];
  });
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push(
    "",
    `${count("ok")} ok, ${count("warning")} warnings, ${count("failure")} failures`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * `ib-sriov doctor [--sysfs-root DIR] [--rdma] [--json]`: checks the node; 1 when any check failed.
 *
 * @throws {TypeError} from `parseArgs` for an unknown option or a positional argument
 */
export async function runDoctor(args: string[], io: ToolIo): Promise<number> {
  // Imported here, not at the top: the plugin bundle must not load Node compatibility.
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args,
    options: {
      "sysfs-root": { type: "string", default: "/" },
      rdma: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  const results = await runChecks(io, { root: values["sysfs-root"], rdma: values.rdma });
  io.stdout(values.json ? `${JSON.stringify(results, null, 2)}\n` : formatChecks(results));
  return results.some((r) => r.status === "failure") ? 1 : 0;
}
