/**
 * The VF netdev's MTU and altnames end as they began: after DEL, after a failed ADD, after a DEL
 * that failed and was retried, whatever the pod, the ADD's own steps or a rebind changed.
 */
import assert from "node:assert/strict";
import { CniError } from "../../lib/cni/errors.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { HOST_NETNS } from "../fakes/fake_kernel.ts";
import { netConf, POD, request, VFS, type World, world } from "./world.ts";

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

Deno.test("cmdAdd() with the netdev recreated leaves MTU and altnames as they were when any step fails", async () => {
  let steps: number;
  {
    await using w = await node();
    w.kernel.addLink(POD, { name: ALT, mtu: 1500, address: "02:00:00:00:00:99", up: false });
    await cmdAdd(w.deps, request("ADD", FULL));
    steps = w.faults.count;
  }
  for (let n = 1; n <= steps; n++) {
    await using w = await node();
    w.kernel.addLink(POD, { name: ALT, mtu: 1500, address: "02:00:00:00:00:99", up: false });
    const before = w.kernel.view();
    w.faults.failAt = n;
    const err = await cmdAdd(w.deps, request("ADD", FULL)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof CniError, `step ${n}: ${String(err)}`);
    assert.match(err.message, new RegExp(`injected fault at step ${n}:`));
    assert.deepEqual(w.kernel.view(), before, `after failing step ${n}: ${w.faults.log[n - 1]}`);
    assert.deepEqual(w.stateFiles(), [], `state after failing step ${n}`);
  }
});

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
