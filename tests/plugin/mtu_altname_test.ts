/**
 * The VF netdev's MTU and altnames end as they began: after DEL, after a failed ADD, after a DEL
 * that failed and was retried, whatever the pod, the ADD's own steps or a rebind changed.
 */
import assert from "node:assert/strict";
import { CniError } from "../../lib/cni/errors.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import {
  assertAddUndoneAt,
  netConf,
  POD,
  podStepErrors,
  request,
  VFS,
  type World,
  world,
} from "./world.ts";

const ALT = "enp59s0f0v1";
const MTU = 2044;
/** GUID, link state and RDMA isolation: the rebind and the RDMA move recreate the netdev. */
const FULL = netConf(1, {
  runtimeConfig: { infinibandGUID: "02:00:00:00:00:0a:00:01" },
  link_state: "enable",
  rdmaIsolation: true,
});

/** A node whose VF 1 has an altname (as udev gives) and a non-default MTU; no step counted. */
async function node(): Promise<World> {
  const w = await world();
  const host = w.kernel.hostNetns();
  const index = w.kernel.linkByName(host, VFS[1]!.netdev)!.index;
  w.kernel.setMtu(host, index, MTU);
  w.kernel.addAltName(host, index, ALT);
  w.faults.count = 0;
  w.faults.log.length = 0;
  return w;
}

function vf1(w: World): { mtu: number | null; altNames: string[] | null } {
  const { mtu, altNames } = w.kernel.vfView(VFS[1]!.pci);
  return { mtu, altNames };
}

Deno.test("cmdDel() gives the VF back the MTU the pod changed", async () => {
  await using w = await node();
  const before = w.kernel.view();
  const result = await cmdAdd(w.deps, request("ADD", netConf(1)));
  assert.equal(result.interfaces[0]!.mtu, MTU);
  const pod = w.kernel.openNetns(POD);
  w.kernel.setMtu(pod, w.kernel.linksIn(POD).get("net1")!.index, 1500);
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(vf1(w), { mtu: MTU, altNames: [ALT] });
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdDel() gives the VF back an altname the pod removed", async () => {
  await using w = await node();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const pod = w.kernel.openNetns(POD);
  w.kernel.deleteAltName(pod, w.kernel.linksIn(POD).get("net1")!.index, ALT);
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdAdd() removes an altname taken in the pod before the move, and DEL puts it back", async () => {
  await using w = await node();
  w.kernel.addLink(POD, { name: ALT, mtu: 1500, address: "02:00:00:00:00:99", up: false });
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  assert.deepEqual(w.kernel.linksIn(POD).get("net1")!.altNames, []);
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(vf1(w), { mtu: MTU, altNames: [ALT] });
  assert.deepEqual(w.kernel.view(), before);
});

Deno.test("cmdDel() leaves an altname another link took meanwhile to that link, with a warning", async () => {
  await using w = await node();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const pod = w.kernel.openNetns(POD);
  w.kernel.deleteAltName(pod, w.kernel.linksIn(POD).get("net1")!.index, ALT);
  w.kernel.addLink(HOST_NETNS, { name: ALT, mtu: 1500, address: "02:00:00:00:00:98", up: false });
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual(vf1(w), { mtu: MTU, altNames: [] });
  const warning = w.logs.map((l) => JSON.parse(l)).find((r) => r.level === "warning");
  assert.deepEqual([warning?.msg, warning?.altNames], [
    "altnames another link took meanwhile are left to it",
    ALT,
  ]);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("cmdDel() after a rebind and an RDMA move recreated the netdev restores its MTU and altnames", async () => {
  await using w = await node();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", FULL));
  await cmdDel(w.deps, request("DEL", FULL));
  assert.deepEqual(vf1(w), { mtu: MTU, altNames: [ALT] });
  assert.deepEqual(w.kernel.view(), before);
});

/** What a pod with CAP_NET_ADMIN may do to its VF netdev, `net1`. */
function tamper(w: World, name = "net1"): void {
  const pod = w.kernel.openNetns(POD);
  const { index, altNames } = w.kernel.linksIn(POD).get("net1")!;
  w.kernel.setLinkUp(pod, index, false);
  w.kernel.setMtu(pod, index, 1500);
  // A rebind recreated it without the altname.
  if (altNames.includes(ALT)) w.kernel.deleteAltName(pod, index, ALT);
  w.kernel.addAddress(pod, index, "192.0.2.7/24");
  if (name !== "net1") w.kernel.renameLink(pod, index, name);
}

for (
  const [name, conf] of [["", netConf(1)], [" after a rebind and an RDMA move", FULL]] as const
) {
  Deno.test(`cmdDel()${name} gives the VF back as ADD found it, whatever the pod did to net1`, async () => {
    await using w = await node();
    const before = w.kernel.view();
    await cmdAdd(w.deps, request("ADD", conf));
    tamper(w);
    await cmdDel(w.deps, request("DEL", conf));
    assert.deepEqual(w.kernel.view(), before);
    assert.deepEqual(w.kernel.linksIn(HOST_NETNS).get(VFS[1]!.netdev)!.addresses, []);
    assert.deepEqual(w.stateFiles(), []);
  });
}

Deno.test("cmdDel() leaves a netdev the pod renamed in the pod, with a warning, and removes the record", async () => {
  await using w = await node();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  tamper(w, "eth9");
  const logged = w.logs.length;
  await cmdDel(w.deps, request("DEL", netConf(1)));
  assert.deepEqual([...w.kernel.linksIn(POD).keys()].sort(), ["eth9", "lo"]);
  assert.deepEqual(w.stateFiles(), []);
  const warnings = w.logs.slice(logged).map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((r) => r.level === "warning").map((r) => r.msg);
  assert.deepEqual(warnings, [
    `VF "${
      VFS[1]!.pci
    }": its netdev is found neither in the host nor as "net1" in netns "${POD}"; it is left where it is`,
  ]);
});

Deno.test("cmdDel() that rebinds the VF to restore its GUIDs brings back a netdev the pod renamed", async () => {
  await using w = await node();
  const before = w.kernel.view();
  const conf = netConf(1, { runtimeConfig: { infinibandGUID: "02:00:00:00:00:0a:00:01" } });
  await cmdAdd(w.deps, request("ADD", conf));
  tamper(w, "eth9");
  await cmdDel(w.deps, request("DEL", conf));
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.stateFiles(), []);
});

/** ADD's error at each step, with a link in the pod named like the VF's altname. */
const PLAIN_STEP_ERRORS = [
  `Cannot remove altname "${ALT}" of link "${VFS[1]!.netdev}" in the host netns: injected ` +
  "fault at step 1",
  `Cannot move link "${VFS[1]!.netdev}" from the host netns to netns "${POD}" as "net1": ` +
  "injected fault at step 2",
  ...podStepErrors(3),
];
/** The same for {@link FULL}: the rebind recreates the netdev without the altname. */
const FULL_STEP_ERRORS = [
  `Cannot set the link state of VF 1 to "enable" through PF "ibp59s0f0": injected fault at step 1`,
  `Cannot set the node and port GUID of VF 1 to "02:00:00:00:00:0a:00:01" through PF ` +
  `"ibp59s0f0": injected fault at step 2`,
  `Cannot unbind VF "${VFS[1]!.pci}" from "mlx5_core": injected fault at step 3`,
  `Cannot bind VF "${VFS[1]!.pci}" to "mlx5_core": injected fault at step 4`,
  `Cannot move RDMA device "mlx5_4" from the host netns to netns "${POD}": injected fault at ` +
  "step 5",
  `Cannot move link "ib0" from the host netns to netns "${POD}" as "net1": injected fault at ` +
  "step 6",
  ...podStepErrors(7),
];

for (
  const [name, conf, stepErrors] of [
    ["an altname taken in the pod", netConf(1), PLAIN_STEP_ERRORS],
    ["the netdev recreated", FULL, FULL_STEP_ERRORS],
  ] as const
) {
  Deno.test(`cmdAdd() with ${name} leaves MTU and altnames as they were when any step fails`, async () => {
    const crowded = async () => {
      const w = await node();
      w.kernel.addLink(POD, { name: ALT, mtu: 1500, address: "02:00:00:00:00:99", up: false });
      return w;
    };
    for (let n = 1; n <= stepErrors.length; n++) {
      await assertAddUndoneAt(crowded, conf, n, stepErrors[n - 1]);
    }
    // Every step was failed: one more and ADD succeeds.
    await using w = await crowded();
    await cmdAdd(w.deps, request("ADD", conf));
    assert.equal(w.faults.count, stepErrors.length);
  });
}

Deno.test("cmdDel() that fails at any step, the MTU and altname restores included, completes on the retry", async () => {
  let steps: number;
  const labels: string[] = [];
  {
    await using w = await node();
    await cmdAdd(w.deps, request("ADD", FULL));
    const at = w.faults.count;
    await cmdDel(w.deps, request("DEL", FULL));
    steps = w.faults.count - at;
    labels.push(...w.faults.log.slice(at));
  }
  // The restores are DEL steps of their own, so each is failed in turn below.
  assert.deepEqual(labels.slice(-2), [
    `set mtu of ${VFS[1]!.netdev} to ${MTU} in ${HOST_NETNS}`,
    `add altname ${ALT} to ${VFS[1]!.netdev} in ${HOST_NETNS}`,
  ]);
  for (let n = 1; n <= steps; n++) {
    await using w = await node();
    const before = w.kernel.view();
    await cmdAdd(w.deps, request("ADD", FULL));
    w.faults.failAt = w.faults.count + n;
    const err = await cmdDel(w.deps, request("DEL", FULL)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof CniError && err.code === 101, `DEL step ${n}: ${String(err)}`);
    w.faults.failAt = 0;
    await cmdDel(w.deps, request("DEL", FULL));
    assert.deepEqual(w.kernel.view(), before, `after failing DEL step ${n}`);
    assert.deepEqual(w.stateFiles(), [], `state after failing DEL step ${n}`);
  }
});

Deno.test("cmdAdd() whose MTU and altname restore fails in the rollback keeps the record, and DEL completes it", async () => {
  let pairs = 0;
  for (let n = 1; n <= FULL_STEP_ERRORS.length; n++) {
    // The rollback's own steps after a failure at step n, the restores last.
    let undos: string[];
    {
      await using w = await node();
      w.faults.failAt = n;
      await assert.rejects(cmdAdd(w.deps, request("ADD", FULL)), CniError);
      undos = w.faults.log.slice(n);
    }
    for (const [i, label] of undos.entries()) {
      if (!/^(set mtu|add altname)/.test(label)) continue;
      const k = n + 1 + i;
      await using w = await node();
      const before = w.kernel.view();
      w.faults.failAt = [n, k];
      const err = await cmdAdd(w.deps, request("ADD", FULL)).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof CniError, `steps ${n}+${k}: ${String(err)}`);
      assert.match(
        err.details,
        /rollback incomplete: restore the MTU and altnames of ibp59s0f0v1; DEL will retry$/,
      );
      w.faults.failAt = 0;
      await cmdDel(w.deps, request("DEL", FULL));
      assert.deepEqual(w.kernel.view(), before, `after failing steps ${n} and ${k} (${label})`);
      assert.deepEqual(w.stateFiles(), [], `state after failing steps ${n} and ${k}`);
      pairs++;
    }
  }
  assert.ok(pairs >= 2 * 4, `only ${pairs} ADD step + restore step pairs`);
});
