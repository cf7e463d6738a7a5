import assert from "node:assert/strict";
import { decodeAttachment } from "../../../lib/state/attachment_record.ts";
import { StateError } from "../../../lib/state/state_error.ts";
import type { AttachmentRecord } from "../../../lib/state/store.ts";

const KEY = { containerId: "c1", ifname: "net1" };
const PATH = "/var/lib/cni/ib-sriov/c1-net1";

/** The example of upstream-behavior.md section 5: a VF with a GUID and host-local. */
const GO_FULL = {
  ContIFNames: "net1",
  HostIFGUID: "11:22:33:00:00:aa:bb:cc",
  HostIFNames: "ibp4s0f0v5",
  Master: "ibp4s0f0",
  RdmaNetState: { version: "", deviceID: "", sandboxRdmaDevName: "", containerRdmaDevName: "" },
  VFID: 5,
  args: {
    cni: {
      guid: "02:00:00:00:00:00:00:05",
      "mellanox.infiniband.app": "configured",
      pkey: "0x8001",
    },
  },
  cniVersion: "1.0.0",
  deviceID: "0000:04:00.7",
  ibKubernetesEnabled: true,
  ipam: { type: "host-local" },
  "link_state": "enable",
  name: "ib-net",
  pkey: "0x8001",
  runtimeConfig: { infinibandGUID: "" },
  type: "ib-sriov",
};

const BASE: AttachmentRecord = {
  kind: "vf",
  version: 1,
  phase: "attached",
  containerId: "c1",
  ifname: "net1",
  netns: "",
  networkName: "ib-net",
  cniVersion: "1.0.0",
  deviceId: "",
};

const VECTORS: { name: string; go: Record<string, unknown>; want: AttachmentRecord }[] = [
  {
    name: "a VF with GUID, link_state and host-local",
    go: GO_FULL,
    want: {
      ...BASE,
      deviceId: "0000:04:00.7",
      pfName: "ibp4s0f0",
      vfIndex: 5,
      hostIfName: "ibp4s0f0v5",
      ipamType: "host-local",
      original: {
        nodeGuid: "11:22:33:00:00:aa:bb:cc",
        portGuid: "11:22:33:00:00:aa:bb:cc",
        linkState: "auto",
      },
    },
  },
  {
    name: "the pre-2025 format with PluginConf keys only",
    go: { cniVersion: "0.3.1", ipam: {}, name: "ib-net", type: "ib-sriov" },
    want: { ...BASE, cniVersion: "0.3.1" },
  },
  {
    name: "rdmaIsolation with the RDMA device moved into the pod",
    go: {
      ...GO_FULL,
      "link_state": undefined,
      HostIFGUID: "",
      rdmaIsolation: true,
      RdmaNetState: { version: "", containerRdmaDevName: "mlx5_7" },
    },
    want: {
      ...BASE,
      deviceId: "0000:04:00.7",
      pfName: "ibp4s0f0",
      vfIndex: 5,
      hostIfName: "ibp4s0f0v5",
      ipamType: "host-local",
      rdmaDevice: "mlx5_7",
    },
  },
  {
    name: "vfioPciMode, for which Go skips IPAM DEL and has no netdev",
    go: { ...GO_FULL, vfioPciMode: true, HostIFNames: "", "link_state": "" },
    want: {
      ...BASE,
      deviceId: "0000:04:00.7",
      kind: "vfio-vf",
      pfName: "ibp4s0f0",
      vfIndex: 5,
      original: { nodeGuid: "11:22:33:00:00:aa:bb:cc", portGuid: "11:22:33:00:00:aa:bb:cc" },
    },
  },
  {
    name: "a PF passed through with vfioPciMode (no Master)",
    go: {
      cniVersion: "1.0.0",
      name: "ib-net",
      deviceID: "0000:04:00.0",
      Master: "",
      vfioPciMode: true,
    },
    want: { ...BASE, deviceId: "0000:04:00.0", kind: "vfio-pf" },
  },
  {
    name: "a PF (no Master), where VFID is not an index",
    go: { cniVersion: "1.0.0", name: "ib-net", deviceID: "0000:04:00.0", Master: "", VFID: 0 },
    want: { ...BASE, deviceId: "0000:04:00.0" },
  },
  {
    name: "a PF (no Master) with a negative VFID, which only a VF's record must not have",
    go: { cniVersion: "1.0.0", name: "ib-net", deviceID: "0000:04:00.0", VFID: -1 },
    want: { ...BASE, deviceId: "0000:04:00.0" },
  },
];

for (const { name, go, want } of VECTORS) {
  Deno.test(`decodeAttachment() maps a Go cache file of ${name}`, () => {
    assert.deepEqual(decodeAttachment(JSON.stringify(go), PATH, KEY), want);
  });
}

Deno.test("decodeAttachment() reports a Go cache field of the wrong type as corrupt", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...GO_FULL, VFID: "5" }, "VFID"],
    [{ ...GO_FULL, VFID: 5.5 }, "VFID"],
    [{ ...GO_FULL, VFID: -1 }, "VFID"],
    [{ ...GO_FULL, deviceID: 7 }, "deviceID"],
    [{ ...GO_FULL, ipam: "host-local" }, "ipam"],
    [{ ...GO_FULL, ipam: { type: 1 } }, "ipam.type"],
    [{ ...GO_FULL, rdmaIsolation: "yes" }, "rdmaIsolation"],
    [{ ...GO_FULL, rdmaIsolation: true, RdmaNetState: [] }, "RdmaNetState"],
  ];
  for (const [raw, field] of cases) {
    assert.throws(
      () => decodeAttachment(JSON.stringify(raw), PATH, KEY),
      (err: unknown) => {
        assert.ok(err instanceof StateError);
        assert.equal(err.code, "corrupt");
        assert.equal(err.path, PATH);
        assert.match(
          err.message,
          new RegExp(`^Cannot read Go cache file "${PATH}": field "${field}"`),
        );
        return true;
      },
    );
  }
});

Deno.test("decodeAttachment() reads only objects without version and with a Go key as Go caches", () => {
  const go = (raw: unknown) => decodeAttachment(JSON.stringify(raw), PATH, KEY).netns === "";
  assert.equal(go({ cniVersion: "1.0.0" }), true);
  assert.equal(go({ Master: "ib0" }), true);
  const notRecord = (raw: unknown, why: string) =>
    assert.throws(
      () => decodeAttachment(JSON.stringify(raw), PATH, KEY),
      (err: unknown) => {
        assert.ok(err instanceof StateError);
        assert.equal(err.code, "corrupt");
        assert.equal(err.message, `Cannot read attachment record "${PATH}": ${why}`);
        return true;
      },
    );
  notRecord({ version: 1, cniVersion: "1.0.0" }, "invalid phase undefined");
  notRecord({}, "unknown version undefined");
  notRecord([], "not a JSON object");
  notRecord(null, "not a JSON object");
  notRecord("cniVersion", "not a JSON object");
});
