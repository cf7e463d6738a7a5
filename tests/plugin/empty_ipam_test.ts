/**
 * `"ipam": {}`, what the SR-IOV network operator renders for a SriovIBNetwork without IPAM: no
 * IPAM, in every command, as the Go plugin reads it. No IPAM plugin is ever run.
 */
import assert from "node:assert/strict";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdCheck } from "../../lib/plugin/check.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { cmdGc } from "../../lib/plugin/gc.ts";
import { cmdStatus } from "../../lib/plugin/status.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import { assertRejectsCniError } from "../assert_cni_error.ts";
import { netConf, POD, POD_B, request, VFS, world } from "./world.ts";

const NO_IPAM = { ipam: {} };

Deno.test("cmdAdd(), cmdCheck() and cmdDel() with an empty ipam attach and detach without IPAM", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  const result = await cmdAdd(w.deps, request("ADD", netConf(1, NO_IPAM)));
  const net1 = w.kernel.linksIn(POD).get("net1")!;
  assert.equal(net1.up, true);
  assert.deepEqual(net1.addresses, []);
  assert.deepEqual(result, {
    interfaces: [{ name: "net1", mac: net1.address, mtu: 4092, sandbox: POD, pciID: VFS[1]!.pci }],
    ips: [],
    routes: [],
    dns: {},
  });
  assert.equal(
    w.store.readAttachment({ containerId: "ctr-a", ifname: "net1" })?.ipamType,
    undefined,
  );

  const prevResult = { cniVersion: "1.0.0", ...result };
  await cmdCheck(w.deps, request("CHECK", netConf(1, { ...NO_IPAM, prevResult })));
  await cmdDel(w.deps, request("DEL", netConf(1, { ...NO_IPAM, prevResult })));
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
  assert.deepEqual(w.ipam.calls, []);
});

Deno.test("cmdStatus() and cmdGc() with an empty ipam run no IPAM plugin", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(0, NO_IPAM), { containerId: "keep", netns: POD }));
  await cmdAdd(w.deps, request("ADD", netConf(1, NO_IPAM), { containerId: "stale", netns: POD_B }));
  const config = netConf(0, {
    ...NO_IPAM,
    cniVersion: "1.1.0",
    "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "net1" }],
  });
  const none = { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" } as const;
  await cmdStatus(w.deps, request("STATUS", config, none));
  await cmdGc(w.deps, request("GC", config, none));
  assert.equal(w.kernel.linksIn(POD).has("net1"), true);
  assert.equal(w.kernel.linksIn(POD_B).has("net1"), false);
  assert.equal(w.kernel.linksIn(HOST_NETNS).has(VFS[1]!.netdev), true);
  assert.equal(w.store.readAttachment({ containerId: "stale", ifname: "net1" }), null);
  assert.notEqual(w.store.readAttachment({ containerId: "keep", ifname: "net1" }), null);
  assert.deepEqual(w.ipam.calls, []);
});

Deno.test("cmdAdd() with an empty ipam and cniVersion 0.2.0 is refused before any change: the result could not be written", async () => {
  await using w = await world();
  const before = w.kernel.snapshot();
  for (const cniVersion of ["0.1.0", "0.2.0"] as const) {
    await assertRejectsCniError(
      cmdAdd(w.deps, request("ADD", netConf(1, { ...NO_IPAM, cniVersion }), { cniVersion })),
      1,
      `cniVersion "${cniVersion}" cannot express a result without IP addresses`,
    );
  }
  assert.equal(w.faults.count, 0);
  assert.deepEqual(w.kernel.snapshot(), before);
  assert.deepEqual(w.stateFiles(), []);
});
