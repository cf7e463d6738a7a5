/**
 * DEL and GC with a config that breaks a rule, is not JSON or differs from the ADD's, through
 * `dispatch()` and the real handlers: they undo the ADD from its attachment record, exit 0 and
 * log the problem as a warning. Only a version DEL cannot answer in stays fatal.
 */
import assert from "node:assert/strict";
import { dispatch } from "../../lib/cni/dispatch.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { createHandlers } from "../../lib/plugin/handlers.ts";
import { netConf, POD, request, type World, world } from "./world.ts";

const ENV = {
  CNI_CONTAINERID: "ctr-a",
  CNI_NETNS: POD,
  CNI_IFNAME: "net1",
  CNI_PATH: "/opt/cni/bin",
};

interface Run {
  status: number;
  stdout: string;
}

async function invoke(w: World, command: string, stdin: string): Promise<Run> {
  const run: Run = { status: -1, stdout: "" };
  const env: Record<string, string> = { ...ENV, CNI_COMMAND: command };
  run.status = await dispatch(
    {
      getenv: (name) => env[name],
      readStdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
      stdout: (t) => void (run.stdout += t),
      stderr: () => {},
    },
    createHandlers(() => w.deps),
    "ib-sriov CNI plugin v0.0.0-test",
  );
  return run;
}

/** The log records of `w` at level warning, as `msg: error`. */
function warnings(w: World): string[] {
  return w.logs.map((l) => JSON.parse(l) as Record<string, string>)
    .filter((r) => r.level === "warning")
    .map((r) => r.error === undefined ? r.msg! : `${r.msg}: ${r.error}`);
}

const INVALID = "DEL config is invalid; undoing the ADD from its attachment record";

/** Configs the ADD's DEL may come with, and the warning each one gets. */
const BROKEN: { what: string; config: string; warning: string }[] = [
  {
    what: "a malformed top-level guid next to a valid runtimeConfig GUID",
    config: JSON.stringify(netConf(1, {
      guid: "not-a-guid",
      runtimeConfig: { infinibandGUID: "02:00:00:00:00:00:00:07" },
    })),
    warning:
      `${INVALID}: guid "not-a-guid" is not a valid GUID: must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)`,
  },
  {
    what: "vfioPciMode together with rdmaIsolation",
    config: JSON.stringify(netConf(1, { vfioPciMode: true, rdmaIsolation: true })),
    warning:
      `${INVALID}: vfioPciMode true with rdmaIsolation true is not supported: a vfio-pci device has no RDMA device to isolate`,
  },
  {
    what: "a pkey out of range",
    config: JSON.stringify(netConf(1, { pkey: "0x10000" })),
    warning: `${INVALID}: pkey "0x10000" is invalid: must be 0x followed by 1 to 4 hex digits`,
  },
  {
    what: "stdin that is not JSON",
    config: JSON.stringify(netConf(1)).slice(0, 40),
    warning: `${INVALID}: error decoding network config: unexpected end of JSON input at byte 40`,
  },
];

for (const { what, config, warning } of BROKEN) {
  Deno.test(`dispatch() DEL with ${what} undoes the ADD from its record and exits 0`, async () => {
    await using w = await world();
    const before = w.kernel.view();
    await cmdAdd(w.deps, request("ADD", netConf(1)));
    assert.equal(w.ipam.leases.size, 1);
    const run = await invoke(w, "DEL", config);
    assert.deepEqual(run, { status: 0, stdout: "" });
    assert.deepEqual(w.kernel.view(), before);
    assert.equal(w.ipam.leases.size, 0);
    assert.deepEqual(w.stateFiles(), []);
    assert.deepEqual(warnings(w), [warning]);
    // The IPAM DEL got the ADD's config, not the broken one.
    const del = w.ipam.calls.find((c) => c.command === "DEL")!;
    assert.deepEqual(JSON.parse(new TextDecoder().decode(del.stdin)), netConf(1));
  });
}

Deno.test("dispatch() DEL with another network's IPAM config releases the lease with the ADD's", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const other = netConf(1, { ipam: { type: "host-local", subnet: "10.99.0.0/16" } });
  const run = await invoke(w, "DEL", JSON.stringify(other));
  assert.deepEqual(run, { status: 0, stdout: "" });
  assert.deepEqual(w.kernel.view(), before);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
  assert.deepEqual(warnings(w), [
    "DEL config names another network or IPAM config than the ADD's; using the ADD's",
  ]);
  const del = w.ipam.calls.find((c) => c.command === "DEL")!;
  assert.deepEqual(JSON.parse(new TextDecoder().decode(del.stdin)), netConf(1));
});

Deno.test("dispatch() DEL with the ADD's own config passes the runtime's stdin to IPAM as it came", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  // The runtime's DEL carries what the ADD did not (prevResult): libcni passes it on.
  const del = JSON.stringify(netConf(1, { prevResult: { cniVersion: "1.0.0", ips: [] } }));
  assert.deepEqual(await invoke(w, "DEL", del), { status: 0, stdout: "" });
  const call = w.ipam.calls.find((c) => c.command === "DEL")!;
  assert.equal(new TextDecoder().decode(call.stdin), del);
  assert.deepEqual(warnings(w), []);
});

Deno.test("dispatch() DEL with a broken config and no record exits 0 and calls no IPAM plugin", async () => {
  await using w = await world();
  const before = w.kernel.view();
  for (const { config } of BROKEN) {
    assert.deepEqual(await invoke(w, "DEL", config), { status: 0, stdout: "" });
  }
  assert.deepEqual(w.kernel.view(), before);
  assert.deepEqual(w.ipam.calls, []);
  assert.deepEqual(w.stateFiles(), []);
});

Deno.test("dispatch() DEL with a cniVersion it cannot answer in fails with code 1 and keeps the record", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const run = await invoke(w, "DEL", JSON.stringify(netConf(1, { cniVersion: "9.9.9" })));
  assert.equal(run.status, 1);
  assert.deepEqual(JSON.parse(run.stdout), {
    cniVersion: "1.1.0",
    code: 1,
    msg: 'incompatible CNI versions: cniVersion "9.9.9" is not supported',
  });
  assert.notEqual(w.store.readAttachment({ containerId: "ctr-a", ifname: "net1" }), null);
  assert.equal(w.ipam.leases.size, 1);
});

Deno.test("dispatch() GC with a config that breaks a rule releases stale attachments without IPAM GC", async () => {
  await using w = await world();
  const before = w.kernel.view();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const gc = netConf(1, {
    cniVersion: "1.1.0",
    pkey: "0x10000",
    "cni.dev/valid-attachments": [],
  });
  assert.deepEqual(await invoke(w, "GC", JSON.stringify(gc)), { status: 0, stdout: "" });
  assert.deepEqual(w.kernel.view(), before);
  assert.equal(w.ipam.leases.size, 0);
  assert.deepEqual(w.stateFiles(), []);
  assert.deepEqual(w.ipam.calls.map((c) => c.command), ["ADD", "DEL"]);
  assert.deepEqual(warnings(w), [
    'GC config is invalid; releasing from the attachment records without IPAM GC: pkey "0x10000" is invalid: must be 0x followed by 1 to 4 hex digits',
  ]);
});

Deno.test("dispatch() GC without a network name stays fatal with code 7", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const { name: _, ...gc } = netConf(1, { cniVersion: "1.1.0" });
  const run = await invoke(w, "GC", JSON.stringify(gc));
  assert.equal(run.status, 1);
  assert.deepEqual(JSON.parse(run.stdout), {
    cniVersion: "1.1.0",
    code: 7,
    msg: "missing network name",
  });
  assert.equal(w.ipam.leases.size, 1);
});

Deno.test("dispatch() CHECK stays strict: a config that breaks a rule fails with code 7", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const run = await invoke(w, "CHECK", BROKEN[2]!.config);
  assert.equal(run.status, 1);
  assert.deepEqual(JSON.parse(run.stdout), {
    cniVersion: "1.0.0",
    code: 7,
    msg: 'pkey "0x10000" is invalid: must be 0x followed by 1 to 4 hex digits',
  });
});

Deno.test("dispatch() DEL with a broken config logs to deps.log, never to the logFile it names", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const config = netConf(1, { pkey: "0x10000", logFile: "/var/log/ib-sriov.log" });
  assert.deepEqual(await invoke(w, "DEL", JSON.stringify(config)), { status: 0, stdout: "" });
  assert.deepEqual([...w.logFiles.keys()], []);
  assert.deepEqual(warnings(w), [
    `${INVALID}: pkey "0x10000" is invalid: must be 0x followed by 1 to 4 hex digits`,
  ]);
});

Deno.test("dispatch() DEL of a record without the ADD's config uses its own config, or warns when broken", async () => {
  for (const broken of [false, true]) {
    await using w = await world();
    const before = w.kernel.view();
    await cmdAdd(w.deps, request("ADD", netConf(1)));
    // A record written before the config was recorded (or a Go plugin cache: only ipam.type).
    const { config: _, ...old } = w.store.readAttachment({ containerId: "ctr-a", ifname: "net1" })!;
    w.store.writeAttachment(old);
    const del = broken ? BROKEN[2]!.config : JSON.stringify(netConf(1));
    assert.deepEqual(await invoke(w, "DEL", del), { status: 0, stdout: "" });
    assert.deepEqual(w.kernel.view(), before);
    assert.deepEqual(w.stateFiles(), []);
    const calls = w.ipam.calls.filter((c) => c.command === "DEL");
    if (broken) {
      assert.deepEqual(calls, []);
      assert.equal(w.ipam.leases.size, 1, "nothing to release it with");
      assert.deepEqual(warnings(w), [
        `${INVALID}: pkey "0x10000" is invalid: must be 0x followed by 1 to 4 hex digits`,
        "no usable IPAM config (the record predates it); the lease is not released",
      ]);
    } else {
      assert.deepEqual(calls.map((c) => new TextDecoder().decode(c.stdin)), [del]);
      assert.equal(w.ipam.leases.size, 0);
    }
  }
});

Deno.test("dispatch() GC refuses a cni.dev/valid-attachments it cannot read, releasing nothing", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1)));
  const view = w.kernel.view();
  const cases: [unknown, string][] = [
    [
      "ctr-a",
      "cni.dev/valid-attachments is not a list of attachments: GC cannot tell which to keep",
    ],
    [
      [{ containerID: "ctr-a", ifname: "net1" }, { containerID: "ctr-a" }],
      'cni.dev/valid-attachments[1] is not an attachment: it needs string "containerID" and "ifname"',
    ],
  ];
  for (const [valid, msg] of cases) {
    const gc = netConf(1, { cniVersion: "1.1.0", "cni.dev/valid-attachments": valid });
    const run = await invoke(w, "GC", JSON.stringify(gc));
    assert.equal(run.status, 1);
    assert.deepEqual(JSON.parse(run.stdout), { cniVersion: "1.1.0", code: 7, msg });
  }
  assert.deepEqual(w.kernel.view(), view);
  assert.equal(w.ipam.leases.size, 1);
  assert.notEqual(w.store.readAttachment({ containerId: "ctr-a", ifname: "net1" }), null);
});
