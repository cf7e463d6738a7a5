import { isAssignedGuid } from "../guid.ts";
import type { NetConf } from "../config/load_net_conf.ts";

/** What `dry-run` found in sysfs about the device named by `deviceID`. */
export interface PlanDevice {
  /** A VF with its netdev, a VF bound to vfio-pci, or a PF bound to vfio-pci. */
  kind: "vf" | "vfio-vf" | "vfio-pf";
  /** Its PCI address. */
  pci: string;
  /** For a VF: its PF's PCI address, the PF's netdev and the VF index. */
  pfPci?: string;
  pfName?: string;
  vfIndex?: number;
  /** The VF's netdev in the host (kind `vf`). */
  netdev?: string;
  /** The driver it is bound to. */
  driver: string | null;
  /** The VF's RDMA device, when it has one. */
  rdmaDevice: string | null;
  /** The node GUID its RDMA device reports (colon form), when it has one. */
  nodeGuid: string | null;
}

/** What the plan is for. */
export interface PlanInput {
  command: "ADD" | "DEL";
  conf: NetConf;
  device: PlanDevice;
  /** `CNI_IFNAME`. */
  ifname: string;
  /** `CNI_NETNS`. */
  netns: string;
}

/** One kernel or state step, and for ADD what undoes it when a later step fails. */
export interface PlanStep {
  action: string;
  undo?: string;
}

/** The steps the plugin would take, in order. */
export interface Plan {
  command: "ADD" | "DEL";
  steps: PlanStep[];
  /** Why the command would fail, when the config and the device tell already. */
  failure: string | null;
  /** What the plan cannot know or what the runtime may change. */
  notes: string[];
}

/** The temporary name the netdev comes back to the host under: its ifindex is known only at run time. */
const TEMP_NAME = "vfdev<ifindex>";

/** Why ADD fails without a GUID, or `null`. */
function missingGuid(conf: NetConf, device: PlanDevice): string | null {
  if (conf.guid !== undefined || device.kind === "vfio-pf" || device.nodeGuid === null) {
    return null;
  }
  if (isAssignedGuid(device.nodeGuid)) return null;
  return `ADD will fail: no GUID is given and VF ${device.pci} has node GUID ${device.nodeGuid}, ` +
    "which means unset; give one (guid, args.cni.guid or runtimeConfig.infinibandGUID), or let " +
    "ib-kubernetes assign one (ibKubernetesEnabled)";
}

function viaPf(device: PlanDevice): string {
  return `via PF ${device.pfName ?? device.pfPci ?? "?"} vf ${device.vfIndex ?? "?"}`;
}

function addSteps({ conf, device, ifname, netns }: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  const vfio = device.kind !== "vf";
  const pf = device.kind === "vfio-pf";
  const hostName = device.netdev ?? "";
  const rebind = conf.guid !== undefined && !vfio;
  const rdma = conf.rdmaIsolation && !vfio;
  if (rdma) steps.push({ action: "check that the RDMA subsystem's netns mode is exclusive" });
  steps.push({
    action: `lock ${pf ? "PF" : "VF"} ${device.pci} and claim it for the attachment`,
    undo: "release the claim",
  });
  steps.push({
    action: pf
      ? "record the attachment"
      : "record the attachment with the VF's original GUIDs and link state",
    undo: "remove the record",
  });
  if (!pf && conf.linkState !== undefined) {
    steps.push({
      action: `set link_state ${conf.linkState} ${viaPf(device)}`,
      undo: "restore the original link state",
    });
  }
  if (!pf && conf.guid !== undefined) {
    steps.push({
      action: `set node and port GUID ${conf.guid} ${viaPf(device)} (from ${conf.guidSource})`,
      undo: `restore the original GUIDs${
        device.nodeGuid === null ? "" : ` (node GUID ${device.nodeGuid} now)`
      }`,
    });
  }
  if (rebind) {
    steps.push({
      action: `rebind ${device.pci} to ${device.driver} and wait for its netdev`,
      undo: `rebind after the GUIDs are restored and rename the netdev back to ${hostName}`,
    });
  }
  if (rdma) {
    steps.push({
      action: `move RDMA device ${device.rdmaDevice ?? "?"} into the pod (${netns})`,
      undo: `move ${device.rdmaDevice ?? "?"} back to the host`,
    });
  }
  if (!vfio) {
    const name = rebind
      ? `the VF's new netdev (${hostName} before the rebind)`
      : `netdev ${hostName}`;
    steps.push({
      action: `move ${name} to ${netns} as ${ifname}`,
      undo: `move it back to the host as ${hostName}, restore its up/down state`,
    });
  }
  if (conf.ipam !== undefined && !vfio) {
    steps.push({
      action: `IPAM ADD with ${conf.ipam.type}`,
      undo: `IPAM DEL with ${conf.ipam.type}`,
    });
    steps.push({
      action: `add the addresses to ${ifname}, set it up, add the routes`,
      undo: "none needed: they leave with the netdev",
    });
  }
  steps.push({ action: "mark the attachment attached" });
  return steps;
}

function delSteps({ conf, device, ifname, netns }: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  const vfio = device.kind !== "vf";
  const pf = device.kind === "vfio-pf";
  const hostName = device.netdev ?? "";
  steps.push({
    action: `read the attachment record (without one, only IPAM DEL is left to do)`,
  });
  if (conf.ipam !== undefined && !vfio) {
    steps.push({ action: `IPAM DEL with ${conf.ipam.type}` });
  }
  steps.push({ action: `lock ${pf ? "PF" : "VF"} ${device.pci}` });
  if (!vfio) {
    steps.push({
      action: `move ${ifname} back from ${netns} to the host as ${TEMP_NAME}, rename it to ` +
        `${hostName}, restore its up/down state`,
    });
  }
  if (conf.rdmaIsolation && !vfio) {
    steps.push({ action: `move RDMA device ${device.rdmaDevice ?? "?"} back to the host` });
  }
  if (!pf && conf.linkState !== undefined) {
    steps.push({ action: `restore the original link state ${viaPf(device)}` });
  }
  if (!pf && conf.guid !== undefined) {
    steps.push({ action: `restore the original node and port GUIDs ${viaPf(device)}` });
    if (!vfio) {
      steps.push({ action: `rebind ${device.pci} to ${device.driver} and wait for its netdev` });
      steps.push({ action: `rename the VF's netdev back to ${hostName}` });
    }
  }
  steps.push({ action: "remove the attachment record and release the claim" });
  return steps;
}

/**
 * The steps ADD or DEL would take for `conf` on `device`, each ADD step with its undo, and why
 * the command would fail when that is known without running it.
 *
 * ADD: (1) RDMA netns mode [rdmaIsolation]; (2) lock and claim; (3) record; (4) link_state
 * [link_state]; (5) GUIDs [a GUID]; (6) rebind [a GUID, not vfio]; (7) RDMA device into the pod
 * [rdmaIsolation]; (8) netdev into the pod [not vfio]; (9) IPAM ADD and (10) addresses, link up,
 * routes [ipam, not vfio]; (11) mark attached. A PF bound to vfio-pci: lock, record, done.
 * DEL undoes the same from the record, IPAM first.
 *
 * @param input the command, the decoded config, the device and the CNI arguments
 * @returns the plan
 */
export function buildPlan(input: PlanInput): Plan {
  const { command, conf, device } = input;
  const notes: string[] = [];
  if (device.kind === "vfio-pf" && (conf.guid !== undefined || conf.linkState !== undefined)) {
    notes.push("guid and link_state do not apply to a PF passed through: they are not set");
  }
  if (device.kind !== "vfio-pf" && device.nodeGuid === null) {
    notes.push(
      `the current GUID of ${device.pci} is unknown here (it has no RDMA device); ADD reads it ` +
        "from the PF",
    );
  }
  if (command === "ADD" && conf.ibKubernetesEnabled) {
    notes.push(
      'ibKubernetesEnabled: ADD asks the runtime to retry until args.cni["mellanox.infiniband.app"]' +
        ' is "configured"',
    );
  }
  return {
    command,
    steps: command === "ADD" ? addSteps(input) : delSteps(input),
    failure: command === "ADD" ? missingGuid(conf, device) : null,
    notes,
  };
}
