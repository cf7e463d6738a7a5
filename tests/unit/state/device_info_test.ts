import assert from "node:assert/strict";
import { mergeDeviceInfo } from "../../../lib/state/device_info.ts";

const OURS = { pciAddress: "0000:3b:00.2", pfPciAddress: "0000:3b:00.0", rdmaDevice: "mlx5_7" };

Deno.test("mergeDeviceInfo() without a file writes the spec v1.1.0 PCI document", () => {
  assert.deepEqual(mergeDeviceInfo(null, OURS), {
    text: '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:3b:00.2",' +
      '"pf-pci-address":"0000:3b:00.0","rdma-device":"mlx5_7"}}',
    discarded: null,
  });
});

Deno.test("mergeDeviceInfo() replaces the fields it owns and keeps every other, in place", () => {
  const dp = JSON.stringify({
    type: "pci",
    version: "1.0.0",
    pci: {
      "pci-address": "0000:3b:00.2",
      "rdma-device": "mlx5_2",
      "vhost-net": "/dev/vhost-net",
      "representor-device": "eth3",
    },
    "x-vendor": { a: 1 },
  });
  const merged = mergeDeviceInfo(dp, OURS);
  assert.equal(merged.discarded, null);
  assert.deepEqual(JSON.parse(merged.text), {
    type: "pci",
    version: "1.1.0",
    pci: {
      "pci-address": "0000:3b:00.2",
      "rdma-device": "mlx5_7",
      "vhost-net": "/dev/vhost-net",
      "representor-device": "eth3",
      "pf-pci-address": "0000:3b:00.0",
    },
    "x-vendor": { a: 1 },
  });
});

Deno.test("mergeDeviceInfo() removes an rdma-device and a pf-pci-address the device does not have", () => {
  const dp = '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:3b:00.2",' +
    '"rdma-device":"mlx5_2","pf-pci-address":"0000:3b:00.0"}}';
  assert.deepEqual(JSON.parse(mergeDeviceInfo(dp, { pciAddress: "0000:3b:00.2" }).text), {
    type: "pci",
    version: "1.1.0",
    pci: { "pci-address": "0000:3b:00.2" },
  });
});

Deno.test("mergeDeviceInfo() replaces a corrupt document where it is corrupt and says why", () => {
  const fresh = mergeDeviceInfo(null, OURS).text;
  assert.deepEqual(mergeDeviceInfo('{"type":"pci",', OURS), {
    text: fresh,
    discarded: "the file was not JSON",
  });
  assert.deepEqual(mergeDeviceInfo("[1]", OURS), {
    text: fresh,
    discarded: "the file was not a JSON object",
  });
  const badPci = mergeDeviceInfo('{"type":"vdpa","pci":"x","vdpa":{"driver":"vhost"}}', OURS);
  assert.equal(badPci.discarded, 'its "pci" field was not an object');
  assert.deepEqual(JSON.parse(badPci.text), {
    type: "pci",
    version: "1.1.0",
    pci: {
      "pci-address": "0000:3b:00.2",
      "pf-pci-address": "0000:3b:00.0",
      "rdma-device": "mlx5_7",
    },
    vdpa: { driver: "vhost" },
  });
});
