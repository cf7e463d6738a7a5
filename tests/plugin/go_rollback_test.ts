/**
 * Rolling back to the Go ib-sriov-cni with pods running: its DEL reads our attachment record as
 * its cache (same path). These tests decode our records as Go's `encoding/json` decodes them into
 * its `NetConf` (`tests/go_netconf.ts`), assert what its DEL reads, replay what that DEL then
 * does (upstream-behavior.md section 4) on the in-memory kernel, and roll forward again.
 */
import assert from "node:assert/strict";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import { decodeAsGo, type GoNetConf } from "../go_netconf.ts";
import { netConf, PF, POD, POD_B, request, VFS, type World, world } from "./world.ts";

const VF = VFS[0]!;
const GUID = "02:00:00:00:00:0a:00:01";
/** VF 0's GUIDs before ADD: mlx5 records the port GUID, which the Go plugin restores. */
const PORT_GUID = "02:00:00:00:00:00:00:01";
const NODE_GUID = "02:00:00:00:00:01:00:01";
const RECORD = "ctr-a-net1";

function recordText(w: World): string {
  return Deno.readTextFileSync(`${w.stateDir}/cache/${RECORD}`);
}

/** What the Go plugin's DEL reads from our record; Go's decode must not fail. */
function goReads(w: World): GoNetConf {
  const { conf, errors } = decodeAsGo(recordText(w));
  assert.deepEqual(errors, []);
  return conf;
}

/** The Go `NetConf` fields of an attachment of ours, as the Go plugin's own ADD would set them. */
function goFields(fields: Partial<GoNetConf>): GoNetConf {
  return {
    cniVersion: "1.0.0",
    name: "ib-net",
    type: "ib-sriov",
    capabilities: null,
    ipam: { type: "host-local" },
    dns: { nameservers: null, domain: "", search: null, options: null },
    prevResult: null,
    "cni.dev/valid-attachments": null,
    Master: PF.name,
    deviceID: VF.pci,
    VFID: 0,
    HostIFNames: VF.netdev,
    HostIFGUID: "",
    ContIFNames: "net1",
    pkey: "",
    "link_state": "",
    rdmaIsolation: false,
    ibKubernetesEnabled: false,
    vfioPciMode: false,
    RdmaNetState: { version: "", deviceID: "", sandboxRdmaDevName: "", containerRdmaDevName: "" },
    runtimeConfig: { infinibandGUID: "" },
    args: { cni: null },
    ...fields,
  };
}

/**
 * What the Go plugin's DEL (cmdDel of ib-sriov-cni 543060d) does with a decoded cache, replayed
 * on the in-memory kernel: IPAM DEL when `ipam.type` is set (not for vfio-pci); `CNI_IFNAME` in
 * the pod set down, renamed to `HostIFNames` and moved to the host; the RDMA device back with
 * `rdmaIsolation`; link state `auto` with `link_state`; with `HostIFGUID`, node and port GUID set
 * to it and (not vfio-pci) a rebind and the netdev renamed back to `HostIFNames`; then its cache
 * (our record) removed.
 */
function goDel(w: World, go: GoNetConf, containerId: string, netns: string): void {
  const k = w.kernel;
  if (go.ipam.type !== "" && !go.vfioPciMode) w.ipam.leases.delete(`${containerId}/net1`);
  const host = k.hostNetns();
  const pod = k.openNetns(netns);
  if (!go.vfioPciMode) {
    const link = k.linkByName(pod, "net1")!;
    k.setLinkUp(pod, link.index, false);
    k.renameLink(pod, link.index, go.HostIFNames);
    k.moveLink(pod, link.index, host);
  }
  if (go.rdmaIsolation) k.moveDevice(pod, go.RdmaNetState.containerRdmaDevName!, host);
  const pf = k.linkByName(host, go.Master)!;
  if (go.link_state !== "") k.setVf(host, pf.index, go.VFID, { linkState: "auto" });
  if (go.HostIFGUID !== "") {
    const guid = go.HostIFGUID.toLowerCase();
    k.setVf(host, pf.index, go.VFID, { nodeGuid: guid, portGuid: guid });
    if (!go.vfioPciMode) {
      k.unbind(go.deviceID, "mlx5_core");
      k.bind(go.deviceID, "mlx5_core");
      const name = k.netdevs(go.deviceID)[0]!;
      if (name !== go.HostIFNames) {
        k.renameLink(host, k.linkByName(host, name)!.index, go.HostIFNames);
      }
    }
  }
  Deno.removeSync(`${w.stateDir}/cache/${containerId}-net1`);
}

Deno.test("decodeAsGo() decodes as Go's encoding/json: any case, later key wins, type errors", () => {
  const { conf, errors } = decodeAsGo(
    '{"hostifnames":"a","HOSTIFNAMES":"b","deviceID":"x","deviceId":"y","VFID":3,"unknown":1}',
  );
  assert.deepEqual([conf.HostIFNames, conf.deviceID, conf.VFID, errors], ["b", "y", 3, []]);
  assert.equal(decodeAsGo('{"deviceId":"y","deviceID":"x"}').conf.deviceID, "x");
  assert.deepEqual(decodeAsGo('{"args":{"cni":{"a":"b","n":1}},"VFID":"1"}').errors, [
    "cannot unmarshal number into Go struct field NetConf.args.cni",
    "cannot unmarshal string into Go struct field NetConf.VFID",
  ]);
  assert.deepEqual(decodeAsGo('{"RdmaNetState":null,"args":{"cni":null}}').errors, []);
});

Deno.test("our record of a netdev VF is a Go cache: its DEL brings the VF back and frees the lease", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(0)));
  const go = goReads(w);
  assert.deepEqual(go, goFields({}));
  goDel(w, go, "ctr-a", POD);
  assert.deepEqual(w.kernel.view(), before);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), [`cache/pci/${VF.pci}`], "Go knows nothing of allocations");
});

Deno.test("our record of a VF whose GUID and link state ADD changed gives Go's DEL the GUID to restore", async () => {
  await using w = await world();
  const before = w.kernel.vfView(VF.pci);
  const conf = netConf(0, {
    link_state: "enable",
    pkey: "0x8001",
    runtimeConfig: { infinibandGUID: GUID },
    // A value that is not a string would make Go's decode fail: it is left out of `args`.
    args: { cni: { guid: GUID, "mellanox.infiniband.app": "configured", count: 2 } },
  });
  await cmdAdd(w.deps, request("ADD", conf));
  const go = goReads(w);
  assert.deepEqual(
    go,
    goFields({
      HostIFGUID: PORT_GUID,
      "link_state": "enable",
      pkey: "0x8001",
      runtimeConfig: { infinibandGUID: GUID },
      args: { cni: { guid: GUID, "mellanox.infiniband.app": "configured" } },
    }),
  );
  goDel(w, go, "ctr-a", POD);
  // Go restores both GUIDs to the port GUID: a node GUID that differed is lost.
  assert.deepEqual(w.kernel.vfView(VF.pci), {
    ...before,
    nodeGuid: PORT_GUID,
    probed: { nodeGuid: PORT_GUID, portGuid: PORT_GUID },
  });
  assert.notEqual(before.nodeGuid, PORT_GUID);
  assert.equal(before.nodeGuid, NODE_GUID);
});

Deno.test("our record of a VF with rdmaIsolation names the RDMA device Go's DEL brings back", async () => {
  await using w = await world();
  const before = w.kernel.vfView(VF.pci);
  await cmdAdd(w.deps, request("ADD", netConf(0, { rdmaIsolation: true })));
  const rdma = w.kernel.rdmaIn(POD)[0]!;
  const go = goReads(w);
  assert.deepEqual(
    go,
    goFields({
      rdmaIsolation: true,
      RdmaNetState: {
        version: "",
        deviceID: VF.pci,
        sandboxRdmaDevName: rdma,
        containerRdmaDevName: rdma,
      },
    }),
  );
  goDel(w, go, "ctr-a", POD);
  const after = w.kernel.vfView(VF.pci);
  assert.equal(after.rdmaNetns, HOST_NETNS);
  // Without a GUID to restore, Go does not rebind, so nothing renames the netdev that moving the
  // RDMA device back recreated: it keeps the kernel's name.
  assert.deepEqual({ ...after, netdev: VF.netdev }, before);
  assert.match(after.netdev!, /^ib\d+$/);
});

Deno.test("our record of a vfio-pci VF is a Go cache with vfioPciMode and the GUID to restore", async () => {
  await using w = await world();
  w.kernel.setDriver(VF.pci, "vfio-pci");
  const before = w.kernel.vfView(VF.pci);
  await cmdAdd(w.deps, request("ADD", netConf(0, { guid: GUID })));
  const go = goReads(w);
  assert.deepEqual(
    go,
    goFields({
      ipam: { type: "" },
      HostIFNames: "",
      ContIFNames: "",
      HostIFGUID: PORT_GUID,
      vfioPciMode: true,
    }),
  );
  goDel(w, go, "ctr-a", POD);
  assert.deepEqual(w.kernel.vfView(VF.pci), { ...before, nodeGuid: PORT_GUID });
});

Deno.test("our record of a vfio-pci PF is a Go cache of a PF: no Master, vfioPciMode", async () => {
  await using w = await world();
  w.kernel.addPlainPci("0000:5e:00.0", "vfio-pci");
  await cmdAdd(w.deps, request("ADD", { ...netConf(0), deviceID: "0000:5e:00.0" }));
  assert.deepEqual(
    goReads(w),
    goFields({
      deviceID: "0000:5e:00.0",
      Master: "",
      ipam: { type: "" },
      HostIFNames: "",
      ContIFNames: "",
      vfioPciMode: true,
    }),
  );
});

Deno.test("cmdAdd() after a rollback and a roll forward takes a VF whose allocation the Go DEL left", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(0)));
  goDel(w, goReads(w), "ctr-a", POD);
  // The first pod's netns still exists (its other interfaces are being torn down, say): only the
  // missing attachment record tells that the allocation it left is stale.
  assert.ok(w.kernel.hasNetns(POD));
  const next = request("ADD", netConf(0), { containerId: "ctr-b", netns: POD_B });
  await cmdAdd(w.deps, next);
  assert.equal(w.kernel.vfView(VF.pci).netns, POD_B);
  assert.equal(w.store.deviceOwner(VF.pci)?.containerId, "ctr-b");
  await cmdDel(w.deps, { ...next, args: { ...next.args, command: "DEL" } });
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});
