import assert from "node:assert/strict";
import { join } from "node:path";
import { stateErrorToCni } from "../../../lib/plugin/to_cni_error.ts";
import { FileStore } from "../../../lib/state/file_store.ts";
import { netnsPathExists } from "../../../lib/netlink/netns.ts";
import { StateError } from "../../../lib/state/state_error.ts";
import type { AttachmentRecord } from "../../../lib/state/store.ts";
import { openFds } from "../../open_fds.ts";

const RECORD: AttachmentRecord = {
  kind: "vf",
  version: 1,
  phase: "attached",
  containerId: "c1",
  ifname: "net1",
  netns: "/var/run/netns/pod1",
  networkName: "ib-net",
  cniVersion: "1.1.0",
  deviceId: "0000:04:00.7",
  pfName: "ibp4s0f0",
  vfIndex: 5,
  hostIfName: "ibp4s0f0v5",
  tempIfName: "vfdev12",
  ipamType: "host-local",
  original: { nodeGuid: "11:22:33:00:00:aa:bb:cc", portGuid: "11:22:33:00:00:aa:bb:cd" },
  rdmaDevice: "mlx5_7",
  config: { cniVersion: "1.1.0", name: "ib-net", ipam: { type: "host-local" } },
};

/** A store in a fresh temp dir; disposing it disposes the store. */
async function tempStore(
  // The production check, as cli.ts passes it; tests that judge netns paths themselves replace it.
  options: { netnsExists?: (path: string) => boolean } = { netnsExists: netnsPathExists },
): Promise<{ store: FileStore; cacheDir: string; root: string } & Disposable> {
  const root = await Deno.makeTempDir({ prefix: "state-" });
  const cacheDir = join(root, "lib", "ib-sriov");
  const store = new FileStore({ cacheDir, runDir: join(root, "run"), ...options });
  return { store, cacheDir, root, [Symbol.dispose]: () => store[Symbol.dispose]() };
}

function assertStateError(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    assert.equal(err.code, code);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

function mode(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

Deno.test("FileStore.writeAttachment() writes a record readAttachment() returns, 0600 in a 0700 dir", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  assert.equal(store.readAttachment(RECORD), null);
  store.writeAttachment(RECORD);
  assert.deepEqual(store.readAttachment({ containerId: "c1", ifname: "net1" }), RECORD);
  assert.equal(mode(cacheDir), 0o700);
  assert.equal(mode(join(cacheDir, "c1-net1")), 0o600);
  assert.deepEqual([...Deno.readDirSync(cacheDir)].map((e) => e.name), ["c1-net1"]);
});

Deno.test("FileStore.writeAttachment() replaces the earlier record", async () => {
  using temp = await tempStore();
  const { store } = temp;
  store.writeAttachment({ ...RECORD, phase: "adding" });
  store.writeAttachment(RECORD);
  assert.equal(store.readAttachment(RECORD)?.phase, "attached");
});

Deno.test("FileStore.writeAttachment() with less durability still replaces the record whole: 0600, no temp file", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  store.writeAttachment({ ...RECORD, phase: "adding" });
  for (const durability of ["contents", "none"] as const) {
    store.writeAttachment({ ...RECORD, netns: `/var/run/netns/${durability}` }, durability);
    assert.deepEqual(store.readAttachment(RECORD), {
      ...RECORD,
      netns: `/var/run/netns/${durability}`,
    });
    assert.equal(mode(join(cacheDir, "c1-net1")), 0o600);
    assert.deepEqual([...Deno.readDirSync(cacheDir)].map((e) => e.name), ["c1-net1"]);
  }
});

Deno.test("FileStore.readAttachment() keeps keys it does not know", async () => {
  using temp = await tempStore();
  const { store } = temp;
  const newer = { ...RECORD, addedByNewerVersion: { x: 1 } } as AttachmentRecord;
  store.writeAttachment(newer);
  assert.deepEqual(store.readAttachment(RECORD), newer);
});

Deno.test("FileStore.readAttachment() reads a record written before kind existed as a netdev VF", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  Deno.mkdirSync(cacheDir, { recursive: true });
  const { kind: _kind, ...old } = RECORD;
  Deno.writeTextFileSync(join(cacheDir, "c1-net1"), JSON.stringify(old));
  assert.deepEqual(store.readAttachment(RECORD), RECORD);
});

Deno.test("FileStore.writeAttachment() replaces a temp file a crashed process left", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  Deno.mkdirSync(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `c1-net1.tmp-${Deno.pid}`);
  Deno.writeTextFileSync(tmp, "half a rec", { mode: 0o644 });
  store.writeAttachment(RECORD);
  assert.deepEqual(store.readAttachment(RECORD), RECORD);
  assert.equal(mode(join(cacheDir, "c1-net1")), 0o600);
  assert.throws(() => Deno.statSync(tmp), Deno.errors.NotFound);
});

Deno.test("FileStore.removeAttachment() and releaseDevice() remove temp files killed writers left", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  store.writeAttachment(RECORD);
  store.claimDevice("0000:3b:00.1", { containerId: "c1", ifname: "net1", netns: "/x" });
  const leftovers = [
    join(cacheDir, "c1-net1.tmp-4242"),
    join(cacheDir, "pci", "0000:3b:00.1.tmp-77"),
  ];
  for (const f of leftovers) Deno.writeTextFileSync(f, "half");
  // Not ours: another attachment's temp file, and a name that only looks like one.
  const kept = [join(cacheDir, "c1-net10.tmp-5"), join(cacheDir, "c1-net1.tmp-x")];
  for (const f of kept) Deno.writeTextFileSync(f, "other");
  store.removeAttachment(RECORD);
  store.releaseDevice("0000:3b:00.1", RECORD);
  for (const f of leftovers) assert.throws(() => Deno.statSync(f), Deno.errors.NotFound, f);
  for (const f of kept) assert.equal(Deno.readTextFileSync(f), "other");
});

Deno.test("FileStore.readAttachment() reads the Go plugin's cache file at the same path", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  Deno.mkdirSync(cacheDir, { recursive: true });
  Deno.writeTextFileSync(
    join(cacheDir, "c1-net1"),
    '{"ContIFNames":"net1","HostIFGUID":"11:22:33:00:00:aa:bb:cc","HostIFNames":"ibp4s0f0v5",' +
      '"Master":"ibp4s0f0","VFID":5,"cniVersion":"1.0.0","deviceID":"0000:04:00.7",' +
      '"ipam":{"type":"host-local"},"name":"ib-net","type":"ib-sriov"}',
  );
  assert.deepEqual(store.readAttachment({ containerId: "c1", ifname: "net1" }), {
    kind: "vf",
    version: 1,
    phase: "attached",
    containerId: "c1",
    ifname: "net1",
    netns: "",
    networkName: "ib-net",
    cniVersion: "1.0.0",
    deviceId: "0000:04:00.7",
    pfName: "ibp4s0f0",
    vfIndex: 5,
    hostIfName: "ibp4s0f0v5",
    ipamType: "host-local",
    original: { nodeGuid: "11:22:33:00:00:aa:bb:cc", portGuid: "11:22:33:00:00:aa:bb:cc" },
  });
});

Deno.test("FileStore.readAttachment() throws StateError corrupt for a file that is not a record", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  Deno.mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, "c1-net1");
  const key = { containerId: "c1", ifname: "net1" };
  const cases: [string, string][] = [
    ["{not json", `Cannot parse attachment record "${path}": not JSON`],
    ["[1,2]", `Cannot read attachment record "${path}": not a JSON object`],
    ['{"version":2}', `Cannot read attachment record "${path}": unknown version 2`],
    [
      JSON.stringify({ ...RECORD, phase: "deleting" }),
      `Cannot read attachment record "${path}": invalid phase "deleting"`,
    ],
    [
      JSON.stringify({ ...RECORD, deviceId: 7 }),
      `Cannot read attachment record "${path}": field "deviceId" is not a string`,
    ],
    [
      JSON.stringify({ ...RECORD, vfIndex: 1.5 }),
      `Cannot read attachment record "${path}": field "vfIndex" is not an integer`,
    ],
    [
      JSON.stringify({ ...RECORD, original: { linkState: "up" } }),
      `Cannot read attachment record "${path}": field "original.linkState" is "up"`,
    ],
    [
      JSON.stringify({ ...RECORD, kind: "pf" }),
      `Cannot read attachment record "${path}": invalid kind "pf"`,
    ],
    [
      JSON.stringify({ ...RECORD, hostIfUp: "yes" }),
      `Cannot read attachment record "${path}": field "hostIfUp" is not a boolean`,
    ],
    [
      JSON.stringify({ ...RECORD, original: [] }),
      `Cannot read attachment record "${path}": field "original" is not an object`,
    ],
    [
      JSON.stringify({ ...RECORD, containerId: "c2" }),
      `Attachment record "${path}" names container "c2" interface "net1", not its own file name`,
    ],
  ];
  for (const [text, message] of cases) {
    Deno.writeTextFileSync(path, text);
    assertStateError(() => store.readAttachment(key), "corrupt", message);
  }
});

Deno.test("FileStore.readAttachment() throws StateError io when the file cannot be read", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  const path = join(cacheDir, "c1-net1");
  Deno.mkdirSync(path, { recursive: true });
  assertStateError(
    () => store.readAttachment({ containerId: "c1", ifname: "net1" }),
    "io",
    new RegExp(`^Cannot read "${path}": `),
  );
});

Deno.test("FileStore.removeAttachment() removes the record and ignores a missing one", async () => {
  using temp = await tempStore();
  const { store } = temp;
  store.writeAttachment(RECORD);
  store.removeAttachment(RECORD);
  assert.equal(store.readAttachment(RECORD), null);
  store.removeAttachment(RECORD);
});

Deno.test("FileStore.listAttachments() returns readable records and skips everything else", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  assert.deepEqual(store.listAttachments(), [], "no cache directory yet");
  store.writeAttachment(RECORD);
  store.writeAttachment({ ...RECORD, containerId: "c-2", ifname: "net2" });
  store.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net1", netns: "" });
  Deno.writeTextFileSync(join(cacheDir, "goctr-9-net3"), '{"ContIFNames":"net3","name":"old"}');
  Deno.writeTextFileSync(join(cacheDir, "legacy-net4"), '{"cniVersion":"0.3.1","name":"old"}');
  Deno.writeTextFileSync(join(cacheDir, "bad-net5"), "{");
  Deno.writeTextFileSync(join(cacheDir, "c1-net9.tmp-123"), "{");
  Deno.writeTextFileSync(join(cacheDir, "node.lock"), "");
  Deno.writeTextFileSync(join(cacheDir, "README"), "not a record");

  const keys = store.listAttachments().map((r) => `${r.containerId}|${r.ifname}|${r.networkName}`);
  assert.deepEqual(keys.sort(), [
    "c-2|net2|ib-net",
    "c1|net1|ib-net",
    "goctr-9|net3|old",
    "legacy|net4|old",
  ]);

  const scan = store.scanAttachments();
  assert.equal(scan.records.length, 4);
  assert.equal(scan.errors.length, 1);
  assert.ok(scan.errors[0] instanceof StateError);
  assert.equal(scan.errors[0].code, "corrupt");
  assert.equal(scan.errors[0].path, join(cacheDir, "bad-net5"));
});

Deno.test("FileStore rejects names that would leave the state directory", async () => {
  using temp = await tempStore();
  const { store, root } = temp;
  const bad = ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\0b"];
  for (const name of bad) {
    const message = (what: string) =>
      `Invalid ${what} ${
        JSON.stringify(name)
      }: cannot be used as a file name in the state directory`;
    const key = { containerId: name, ifname: "net1" };
    assertStateError(() => store.readAttachment(key), "invalid-name", message("container ID"));
    assertStateError(
      () => store.writeAttachment({ ...RECORD, containerId: name }),
      "invalid-name",
      message("container ID"),
    );
    assertStateError(
      () => store.removeAttachment({ containerId: "c1", ifname: name }),
      "invalid-name",
      message("interface name"),
    );
    assertStateError(() => store.deviceOwner(name), "invalid-name", message("PCI address"));
    assertStateError(
      () => store.claimDevice(name, { containerId: "c1", ifname: "net1", netns: "" }),
      "invalid-name",
      message("PCI address"),
    );
    assertStateError(
      () => store.releaseDevice(name, { containerId: "c1", ifname: "net1" }),
      "invalid-name",
      message("PCI address"),
    );
    await assert.rejects(store.lock(name, 0), (err: unknown) => {
      assert.ok(err instanceof StateError);
      assert.equal(err.code, "invalid-name");
      assert.equal(err.message, message("lock name"));
      return true;
    });
  }
  assert.deepEqual([...Deno.readDirSync(root)], [], "nothing was written");
});

Deno.test("FileStore.claimDevice() records the owner and is idempotent for the same attachment", async () => {
  using temp = await tempStore({ netnsExists: () => true });
  const { store, cacheDir } = temp;
  const owner = { containerId: "c1", ifname: "net1", netns: "/var/run/netns/pod1" };
  assert.equal(store.deviceOwner("0000:04:00.7"), null);
  store.claimDevice("0000:04:00.7", owner);
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), owner);
  assert.equal(mode(join(cacheDir, "pci")), 0o700);
  assert.equal(mode(join(cacheDir, "pci", "0000:04:00.7")), 0o600);

  const again = { ...owner, netns: "/var/run/netns/pod1-retry" };
  store.claimDevice("0000:04:00.7", again);
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), again);
});

Deno.test("FileStore.claimDevice() refuses a device whose owner's netns still exists", async () => {
  using temp = await tempStore();
  const { store, root } = temp;
  const netns = join(root, "netns-pod1");
  Deno.writeTextFileSync(netns, "");
  store.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net1", netns });
  store.writeAttachment({ ...RECORD, netns });
  assert.throws(
    () => store.claimDevice("0000:04:00.7", { containerId: "c2", ifname: "net1", netns: "/x" }),
    (err: unknown) => {
      assert.ok(err instanceof StateError);
      assert.equal(err.code, "taken");
      const cni = stateErrorToCni(err);
      assert.equal(cni.code, 100);
      assert.equal(
        cni.message,
        `device "0000:04:00.7" is already allocated to container "c1" interface "net1" ` +
          `(netns "${netns}")`,
      );
      assert.equal(cni.details, join(root, "lib", "ib-sriov", "pci", "0000:04:00.7"));
      return true;
    },
  );
  assert.equal(store.deviceOwner("0000:04:00.7")?.containerId, "c1", "the owner is unchanged");
  assert.throws(
    () => store.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net2", netns }),
    { name: "StateError", code: "taken" },
    "same container, other interface is another attachment",
  );
});

Deno.test("FileStore.claimDevice() replaces a record whose netns is gone", async () => {
  using temp = await tempStore();
  const { store, root } = temp;
  const gone = join(root, "netns-gone");
  store.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net1", netns: gone });
  const next = { containerId: "c2", ifname: "net1", netns: "/var/run/netns/pod2" };
  store.claimDevice("0000:04:00.7", next);
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), next);
});

Deno.test("FileStore.claimDevice() replaces a holder whose attachment record is gone, as the Go plugin's DEL leaves it", async () => {
  using temp = await tempStore({ netnsExists: () => true });
  const { store } = temp;
  store.claimDevice("0000:04:00.7", { ...RECORD, netns: "/var/run/netns/pod1" });
  store.writeAttachment(RECORD);
  const next = { containerId: "c2", ifname: "net1", netns: "/var/run/netns/pod2" };
  assert.throws(() => store.claimDevice("0000:04:00.7", next), { code: "taken" });
  // The Go DEL removes its cache, which is our record, and knows nothing of the allocation.
  store.removeAttachment(RECORD);
  store.claimDevice("0000:04:00.7", next);
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), next);
});

Deno.test("FileStore.claimDevice() asks the netnsExists option about the owner's netns", async () => {
  const asked: string[] = [];
  using temp = await tempStore({
    netnsExists: (path) => {
      asked.push(path);
      return path === "/proc/42/ns/net";
    },
  });
  const { store } = temp;
  store.claimDevice("0000:04:00.7", {
    containerId: "c1",
    ifname: "net1",
    netns: "/proc/42/ns/net",
  });
  store.writeAttachment({ ...RECORD, netns: "/proc/42/ns/net" });
  assert.throws(
    () => store.claimDevice("0000:04:00.7", { containerId: "c2", ifname: "net1", netns: "/y" }),
    { name: "StateError", code: "taken" },
  );
  store.claimDevice("0000:04:00.1", {
    containerId: "c1",
    ifname: "net1",
    netns: "/proc/43/ns/net",
  });
  store.claimDevice("0000:04:00.1", { containerId: "c2", ifname: "net1", netns: "/y" });
  assert.deepEqual(asked, ["/proc/42/ns/net", "/proc/43/ns/net"]);
});

Deno.test("FileStore.claimDevice() replaces a corrupt allocation record; deviceOwner() reports it", async () => {
  using temp = await tempStore();
  const { store, cacheDir } = temp;
  const path = join(cacheDir, "pci", "0000:04:00.7");
  Deno.mkdirSync(join(cacheDir, "pci"), { recursive: true });
  for (const text of ["{", '{"containerId":"c1"}']) {
    Deno.writeTextFileSync(path, text);
    assertStateError(() => store.deviceOwner("0000:04:00.7"), "corrupt", new RegExp(`"${path}"`));
    store.releaseDevice("0000:04:00.7", { containerId: "c1", ifname: "net1" });
    assert.equal(Deno.readTextFileSync(path), text, "release leaves a corrupt record alone");
  }
  const owner = { containerId: "c2", ifname: "net1", netns: "/var/run/netns/pod2" };
  store.claimDevice("0000:04:00.7", owner);
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), owner);
});

Deno.test("FileStore.releaseDevice() removes only its own owner's record", async () => {
  using temp = await tempStore({ netnsExists: () => true });
  const { store } = temp;
  store.releaseDevice("0000:04:00.7", { containerId: "c1", ifname: "net1" });
  const owner = { containerId: "c1", ifname: "net1", netns: "/var/run/netns/pod1" };
  store.claimDevice("0000:04:00.7", owner);
  store.releaseDevice("0000:04:00.7", { containerId: "c2", ifname: "net1" });
  store.releaseDevice("0000:04:00.7", { containerId: "c1", ifname: "net2" });
  assert.deepEqual(store.deviceOwner("0000:04:00.7"), owner);
  store.releaseDevice("0000:04:00.7", { containerId: "c1", ifname: "net1" });
  assert.equal(store.deviceOwner("0000:04:00.7"), null);
});

Deno.test("FileStore opens each directory once, on first use, and closes them when disposed", async () => {
  const before = openFds();
  {
    using temp = await tempStore({ netnsExists: () => true });
    const { store } = temp;
    const owner = { containerId: "c1", ifname: "net1", netns: "/var/run/netns/pod1" };
    assert.equal(store.readAttachment(RECORD), null);
    assert.equal(store.deviceOwner("0000:04:00.7"), null);
    assert.equal(openFds(), before, "a missing directory is not kept open");
    for (let round = 0; round < 2; round++) {
      {
        using _lock = await store.lock("0000:04:00.7", 0);
        store.writeAttachment(RECORD);
        store.claimDevice("0000:04:00.7", owner);
        assert.deepEqual(store.readAttachment(RECORD), RECORD);
        assert.deepEqual(store.deviceOwner("0000:04:00.7"), owner);
        assert.equal(store.listAttachments().length, 1);
        store.releaseDevice("0000:04:00.7", owner);
        store.removeAttachment(RECORD);
        assert.equal(openFds(), before + 4, `round ${round}: the three directories, the lock`);
      }
      assert.equal(openFds(), before + 3, `round ${round}: the cache, pci/ and run directories`);
    }
  }
  assert.equal(openFds(), before, "all closed by dispose");
});

/** Asserts that taking a lock fails on `dir`, a state directory that is a symbolic link. */
async function assertLockRefused(store: FileStore, dir: string): Promise<void> {
  await assert.rejects(
    () => store.lock("0000:04:00.7", 100).then((l) => l[Symbol.dispose]()),
    (err: unknown) =>
      err instanceof StateError &&
      err.message === `Cannot open directory "${dir}": a component of the path is a symbolic link`,
  );
}

Deno.test("FileStore refuses a state directory replaced by a symbolic link and writes nothing through it", async () => {
  using temp = await tempStore();
  const { store, cacheDir, root } = temp;
  try {
    const elsewhere = join(root, "elsewhere");
    await Deno.mkdir(elsewhere, { mode: 0o700 });
    await Deno.mkdir(join(root, "lib"));
    await Deno.symlink(elsewhere, cacheDir);
    // A lock is taken before every change to the cache: it checks the cache directory too.
    await assertLockRefused(store, cacheDir);
    await Deno.remove(join(root, "run"), { recursive: true });
    await Deno.symlink(elsewhere, join(root, "run"));
    assertStateError(
      () => store.writeAttachment(RECORD),
      "io",
      `Cannot open directory "${cacheDir}": a component of the path is a symbolic link`,
    );
    // The next command's store: this one keeps the run directory it opened (see the next test).
    using next = new FileStore({ cacheDir, runDir: join(root, "run") });
    await assertLockRefused(next, `${root}/run`);
    assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileStore keeps the directories it checked: paths swapped for links later are not written through", async () => {
  using temp = await tempStore({ netnsExists: () => true });
  const { store, cacheDir, root } = temp;
  const [runDir, elsewhere, moved] = [join(root, "run"), join(root, "elsewhere"), join(root, "m")];
  const owner = { containerId: "c1", ifname: "net1", netns: "/var/run/netns/pod1" };
  Deno.mkdirSync(elsewhere, { mode: 0o700 });
  {
    using _lock = await store.lock("node", 0);
    store.claimDevice("0000:04:00.1", owner);
  }
  Deno.mkdirSync(moved, { mode: 0o700 });
  Deno.renameSync(cacheDir, join(moved, "cache"));
  Deno.renameSync(runDir, join(moved, "run"));
  Deno.symlinkSync(elsewhere, cacheDir);
  Deno.symlinkSync(elsewhere, runDir);
  {
    using _lock = await store.lock("node", 0);
    store.writeAttachment(RECORD);
    store.claimDevice("0000:04:00.7", owner);
    assert.deepEqual(store.readAttachment(RECORD), RECORD);
  }
  assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
  const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(names(join(moved, "cache")), ["c1-net1", "pci"]);
  assert.deepEqual(names(join(moved, "cache", "pci")), ["0000:04:00.1", "0000:04:00.7"]);
  assert.deepEqual(names(join(moved, "run")), ["node.lock"]);
  // The next command's store opens the paths again, and refuses the links.
  using next = new FileStore({ cacheDir, runDir });
  await assertLockRefused(next, runDir);
  assertStateError(
    () => next.writeAttachment(RECORD),
    "io",
    `Cannot open directory "${cacheDir}": a component of the path is a symbolic link`,
  );
});

Deno.test("FileStore refuses a state directory or pci/ that others may write", async () => {
  using temp = await tempStore();
  const { store, cacheDir, root } = temp;
  try {
    await Deno.mkdir(cacheDir, { recursive: true });
    await Deno.chmod(cacheDir, 0o777);
    assertStateError(
      () => store.writeAttachment(RECORD),
      "io",
      /^Cannot use directory ".*\/lib\/ib-sriov": it must be owned by uid \d+ and not writable by group or others \(it is uid \d+, mode 0777\)$/,
    );
    assert.deepEqual([...Deno.readDirSync(cacheDir)], []);
    await Deno.chmod(cacheDir, 0o700);
    await Deno.mkdir(join(cacheDir, "pci"));
    await Deno.chmod(join(cacheDir, "pci"), 0o777);
    assertStateError(
      () => store.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net1", netns: "" }),
      "io",
      /^Cannot use directory ".*\/lib\/ib-sriov\/pci": it must be owned by uid \d+ and not writable by group or others \(it is uid \d+, mode 0777\)$/,
    );
    assert.deepEqual([...Deno.readDirSync(join(cacheDir, "pci"))], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileStore refuses a record, an allocation record, pci/ or a lock file that is a symbolic link or a hard link, and changes nothing through it", async () => {
  using temp = await tempStore({ netnsExists: () => true });
  const { store, cacheDir, root } = temp;
  const runDir = join(root, "run");
  const victim = join(root, "victim");
  const text = JSON.stringify(RECORD);
  Deno.writeTextFileSync(victim, text);
  store.claimDevice("0000:04:00.1", { containerId: "c9", ifname: "net1", netns: "" });
  Deno.mkdirSync(runDir, { mode: 0o700 });
  const record = join(cacheDir, "c1-net1");
  const LINK = "a component of the path is a symbolic link";
  Deno.symlinkSync(victim, record);
  assertStateError(() => store.readAttachment(RECORD), "io", `Cannot read "${record}": ${LINK}`);
  assertStateError(
    () => store.writeAttachment(RECORD),
    "io",
    `Cannot write "${record}": it is not a regular file`,
  );
  Deno.removeSync(record);
  Deno.linkSync(victim, record);
  assertStateError(
    () => store.readAttachment(RECORD),
    "io",
    `Cannot read "${record}": it has 2 hard links; it must have one`,
  );
  Deno.removeSync(record);
  const owner = join(cacheDir, "pci", "0000:04:00.7");
  Deno.symlinkSync(victim, owner);
  assertStateError(
    () => store.deviceOwner("0000:04:00.7"),
    "io",
    `Cannot read "${owner}": ${LINK}`,
  );
  Deno.linkSync(victim, join(runDir, "node.lock"));
  await assert.rejects(store.lock("node", 0), (err: unknown) => {
    assert.ok(err instanceof StateError);
    assert.equal(err.code, "io");
    assert.equal(err.rule, "linked");
    const path = join(runDir, "node.lock");
    assert.equal(
      err.message,
      `Cannot open lock file "${path}": it has 2 hard links; it must have one`,
    );
    return true;
  });
  Deno.removeSync(join(cacheDir, "pci"), { recursive: true });
  Deno.symlinkSync(root, join(cacheDir, "pci"));
  // The next command's store: this one keeps the pci/ it opened, removed now.
  using next = new FileStore({ cacheDir, runDir });
  assertStateError(
    () => next.claimDevice("0000:04:00.7", { containerId: "c1", ifname: "net1", netns: "" }),
    "io",
    `Cannot open directory "${join(cacheDir, "pci")}": ${LINK}`,
  );
  assert.equal(Deno.readTextFileSync(victim), text);
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), ["lib", "run", "victim"]);
});
