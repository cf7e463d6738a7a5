import assert from "node:assert/strict";
import { DeviceInfoFiles, mergeDeviceInfo } from "../../../lib/state/device_info.ts";
import { StateError } from "../../../lib/state/state_error.ts";

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

const DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";

/** A device-info root in a temp dir, as Multus leaves it (owned by us, not group-writable). */
async function rooted(): Promise<{ root: string; files: DeviceInfoFiles } & AsyncDisposable> {
  const base = await Deno.makeTempDir({ prefix: "ib-sriov-devinfo-unit-" });
  const root = `${base}/cni`;
  Deno.mkdirSync(root, { mode: 0o700 });
  return {
    root,
    files: new DeviceInfoFiles(root),
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true });
    },
  };
}

function assertRule(fn: () => unknown, rule: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateError, String(err));
    assert.equal(err.rule, rule);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("DeviceInfoFiles.read() gives null for a missing file and the text of a 0444 one", async () => {
  await using d = await rooted();
  assert.equal(d.files.read(`${DIR}a`), null);
  Deno.writeTextFileSync(`${d.root}/a`, '{"type":"pci"}', { mode: 0o444 });
  assert.equal(d.files.read(`${DIR}a`), '{"type":"pci"}');
});

Deno.test("DeviceInfoFiles.write() replaces a 0444 file atomically, mode 0444, no temp file left", async () => {
  await using d = await rooted();
  Deno.writeTextFileSync(`${d.root}/a`, "old", { mode: 0o444 });
  d.files.write(`${DIR}a`, "new");
  assert.equal(Deno.readTextFileSync(`${d.root}/a`), "new");
  assert.equal(Deno.statSync(`${d.root}/a`).mode! & 0o7777, 0o444);
  assert.deepEqual([...Deno.readDirSync(d.root)].map((e) => e.name), ["a"]);
});

Deno.test("DeviceInfoFiles.remove() removes the file and ignores a missing one", async () => {
  await using d = await rooted();
  d.files.write(`${DIR}a`, "x");
  d.files.remove(`${DIR}a`);
  d.files.remove(`${DIR}a`);
  assert.deepEqual([...Deno.readDirSync(d.root)], []);
});

Deno.test("DeviceInfoFiles refuses a path outside the directory, naming it", async () => {
  await using d = await rooted();
  for (const verb of ["read", "write", "remove"] as const) {
    assertRule(
      () => verb === "write" ? d.files.write("/etc/x", "x") : d.files[verb]("/etc/x"),
      "name",
      `Cannot ${verb} "/etc/x": it is not in ${DIR}`,
    );
  }
});

Deno.test("DeviceInfoFiles refuses a symbolic link at the name, and a hard link, and leaves their targets alone", async () => {
  await using d = await rooted();
  const outside = `${d.root}/../victim`;
  Deno.writeTextFileSync(outside, "victim");
  Deno.symlinkSync(outside, `${d.root}/link`);
  const linkPath = `${d.root}/link`;
  assertRule(
    () => d.files.read(`${DIR}link`),
    "symlink",
    `Cannot read "${linkPath}": a component of the path is a symbolic link`,
  );
  assert.equal(Deno.readTextFileSync(outside), "victim");
  Deno.linkSync(outside, `${d.root}/hard`);
  assertRule(
    () => d.files.read(`${DIR}hard`),
    "linked",
    `Cannot read "${d.root}/hard": it has 2 hard links; it must have one`,
  );
  assert.equal(Deno.readTextFileSync(outside), "victim");
});

Deno.test("DeviceInfoFiles refuses a root reached through a symbolic link", async () => {
  await using d = await rooted();
  const via = `${d.root}-via`;
  Deno.symlinkSync(d.root, via);
  const files = new DeviceInfoFiles(via);
  assertRule(
    () => files.write(`${DIR}a`, "x"),
    "symlink",
    `Cannot open directory "${via}": a component of the path is a symbolic link`,
  );
  assert.deepEqual([...Deno.readDirSync(d.root)], []);
});

Deno.test("DeviceInfoFiles.write() creates a missing directory 0700; read() of it is null", async () => {
  await using d = await rooted();
  Deno.removeSync(d.root);
  assert.equal(d.files.read(`${DIR}a`), null);
  d.files.write(`${DIR}a`, "x");
  assert.equal(Deno.statSync(d.root).mode! & 0o7777, 0o700);
  assert.equal(Deno.readTextFileSync(`${d.root}/a`), "x");
});

Deno.test("DeviceInfoFiles.read() refuses a file over 64 KiB as an I/O failure", async () => {
  await using d = await rooted();
  Deno.writeTextFileSync(`${d.root}/big`, "x".repeat(64 * 1024 + 1));
  assert.throws(() => d.files.read(`${DIR}big`), (err: unknown) => {
    assert.ok(err instanceof StateError);
    assert.equal(err.rule, "io");
    assert.equal(err.message, `Cannot read "${d.root}/big": File too large`);
    return true;
  });
});
