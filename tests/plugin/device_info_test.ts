import assert from "node:assert/strict";
import { CniError } from "../../lib/cni/errors.ts";
import { cmdAdd } from "../../lib/plugin/add.ts";
import { cmdCheck } from "../../lib/plugin/check.ts";
import { cmdDel } from "../../lib/plugin/del.ts";
import { cmdGc } from "../../lib/plugin/gc.ts";
import { DeviceInfoFiles } from "../../lib/state/device_info.ts";
import type { AttachmentRecord } from "../../lib/state/store.ts";
import { invoke, netConf, PF, POD, request, VFS, type World, world } from "./world.ts";

const DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";
const NAME = "ib-net-ctr-a_net1";
const PATH = `${DIR}${NAME}`;
const GUID = "02:00:00:00:00:0a:00:01";
const VF = VFS[1]!;

/** What the SR-IOV device plugin writes and Multus copies before ADD, with a field of its own. */
function dpDocument(rdmaDevice: string): Record<string, unknown> {
  return {
    type: "pci",
    version: "1.1.0",
    pci: { "pci-address": VF.pci, "rdma-device": rdmaDevice, "pf-pci-address": PF.pci },
    "x-site": { rack: "r7" },
  };
}

/** Writes the file as Multus does: mode 0444. */
function multusCopies(w: World, doc: unknown): string {
  const text = JSON.stringify(doc);
  Deno.writeTextFileSync(`${w.deviceInfoDir}/${NAME}`, text, { mode: 0o444 });
  return text;
}

function readDoc(w: World): unknown {
  return JSON.parse(Deno.readTextFileSync(`${w.deviceInfoDir}/${NAME}`));
}

function withFile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return netConf(1, { runtimeConfig: { CNIDeviceInfoFile: PATH }, ...extra });
}

/** The one RDMA device the VF has in the host, as sysfs shows it. */
function hostRdma(w: World): string {
  const devices = w.kernel.rdmaDevices(VF.pci);
  assert.equal(devices.length, 1);
  return devices[0]!;
}

Deno.test("cmdAdd() writes the RDMA device's new name into the device-info file after a GUID change renamed it", async () => {
  await using w = await world();
  const before = hostRdma(w);
  multusCopies(w, dpDocument(before));
  await cmdAdd(
    w.deps,
    request("ADD", withFile({ runtimeConfig: { CNIDeviceInfoFile: PATH, infinibandGUID: GUID } })),
  );
  const after = hostRdma(w);
  assert.notEqual(after, before, "the rebind gave the RDMA device a new name");
  assert.deepEqual(readDoc(w), { ...dpDocument(after) });
  // Replaced as Multus wrote it: read-only, one name, no temp file left.
  const stat = Deno.statSync(`${w.deviceInfoDir}/${NAME}`);
  assert.equal(stat.mode! & 0o7777, 0o444);
  assert.deepEqual([...Deno.readDirSync(w.deviceInfoDir)].map((e) => e.name), [NAME]);
});

Deno.test("cmdAdd() with rdmaIsolation names the RDMA device it moved into the pod", async () => {
  await using w = await world();
  const before = hostRdma(w);
  multusCopies(w, dpDocument(before));
  const conf = withFile({
    runtimeConfig: { CNIDeviceInfoFile: PATH, infinibandGUID: GUID },
    rdmaIsolation: true,
  });
  await cmdAdd(w.deps, request("ADD", conf));
  const inPod = w.kernel.rdmaIn(POD);
  assert.equal(inPod.length, 1);
  assert.notEqual(inPod[0], before, "the rebind before the move renamed the RDMA device");
  assert.deepEqual(w.kernel.rdmaDevices(VF.pci), []);
  assert.deepEqual(readDoc(w), dpDocument(inPod[0]!));
});

Deno.test("cmdAdd() creates the device-info file when Multus copied none, and CHECK, DEL and GC leave it to Multus", async () => {
  await using w = await world();
  const result = await cmdAdd(w.deps, request("ADD", withFile()));
  const doc = {
    type: "pci",
    version: "1.1.0",
    pci: { "pci-address": VF.pci, "pf-pci-address": PF.pci, "rdma-device": hostRdma(w) },
  };
  assert.deepEqual(readDoc(w), doc);
  await cmdCheck(
    w.deps,
    request("CHECK", withFile({ prevResult: { cniVersion: "1.0.0", ...result } })),
  );
  await cmdDel(w.deps, request("DEL", withFile()));
  assert.deepEqual(readDoc(w), doc);
  await cmdAdd(w.deps, request("ADD", withFile()));
  const gc = withFile({ cniVersion: "1.1.0", "cni.dev/valid-attachments": [] });
  await cmdGc(
    w.deps,
    request("GC", gc, { containerId: "", ifname: "", netns: "", cniVersion: "1.1.0" }),
  );
  assert.deepEqual(w.stateFiles(), []);
  assert.deepEqual(readDoc(w), doc);
});

Deno.test("cmdAdd() creates the device-info directory when it is missing", async () => {
  await using w = await world();
  const root = `${w.deviceInfoDir}/cni`;
  const deps = { ...w.deps, deviceInfo: new DeviceInfoFiles(root) };
  await cmdAdd(deps, request("ADD", withFile()));
  assert.equal(Deno.statSync(root).mode! & 0o7777, 0o700);
  assert.equal(
    (JSON.parse(Deno.readTextFileSync(`${root}/${NAME}`)) as { type: string }).type,
    "pci",
  );
});

Deno.test("cmdAdd() replaces a corrupt device-info file and names it in a warning", async () => {
  await using w = await world();
  Deno.writeTextFileSync(`${w.deviceInfoDir}/${NAME}`, "{not json", { mode: 0o444 });
  await cmdAdd(w.deps, request("ADD", withFile()));
  assert.deepEqual((readDoc(w) as { pci: unknown }).pci, {
    "pci-address": VF.pci,
    "pf-pci-address": PF.pci,
    "rdma-device": hostRdma(w),
  });
  const warning = w.logs.map((l) => JSON.parse(l)).find((r) => r.level === "warning");
  assert.equal(warning.msg, "device-info file replaced where it was corrupt");
  assert.equal(warning.file, PATH);
  assert.equal(warning.reason, "the file was not JSON");
});

Deno.test("cmdAdd() without runtimeConfig.CNIDeviceInfoFile writes no device-info file", async () => {
  await using w = await world();
  await cmdAdd(w.deps, request("ADD", netConf(1, { runtimeConfig: { infinibandGUID: GUID } })));
  assert.deepEqual([...Deno.readDirSync(w.deviceInfoDir)], []);
});

Deno.test("cmdAdd() for a vfio-pci VF writes its PCI addresses and no RDMA device", async () => {
  await using w = await world();
  w.kernel.setDriver(VF.pci, "vfio-pci");
  multusCopies(w, dpDocument("mlx5_9"));
  await cmdAdd(w.deps, request("ADD", withFile({ vfioPciMode: true, ipam: undefined })));
  assert.deepEqual(readDoc(w), {
    type: "pci",
    version: "1.1.0",
    pci: { "pci-address": VF.pci, "pf-pci-address": PF.pci },
    "x-site": { rack: "r7" },
  });
});

/** Each way a device-info path breaks the rules, and the error ADD answers with. */
const REFUSED: { name: string; path: string; prepare?: (w: World) => void; message: string }[] = [
  {
    name: "outside the directory",
    path: "/etc/sudoers.d/x",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/etc/sudoers.d/x" is invalid: must be a file name directly in ${DIR} (no "..", "." or "/" after it, at most 255 bytes)`,
  },
  {
    name: "with ..",
    path: `${DIR}../dp/res-${VF.pci}-device.json`,
    message:
      `runtimeConfig.CNIDeviceInfoFile "${DIR}../dp/res-${VF.pci}-device.json" is invalid: must be a file name directly in ${DIR} (no "..", "." or "/" after it, at most 255 bytes)`,
  },
  {
    name: "a symbolic link",
    path: PATH,
    prepare: (w) => Deno.symlinkSync(`${w.stateDir}/victim`, `${w.deviceInfoDir}/${NAME}`),
    message:
      `runtimeConfig.CNIDeviceInfoFile "${PATH}" is refused: a component of the path is a symbolic link`,
  },
  {
    name: "a directory",
    path: PATH,
    prepare: (w) => Deno.mkdirSync(`${w.deviceInfoDir}/${NAME}`),
    message: `runtimeConfig.CNIDeviceInfoFile "${PATH}" is refused: it is not a regular file`,
  },
  {
    name: "a FIFO",
    path: PATH,
    prepare: (w) => {
      const mkfifo = new Deno.Command("mkfifo", { args: [`${w.deviceInfoDir}/${NAME}`] });
      assert.equal(mkfifo.outputSync().code, 0);
    },
    message: `runtimeConfig.CNIDeviceInfoFile "${PATH}" is refused: it is not a regular file`,
  },
];

for (const { name, path, prepare, message } of REFUSED) {
  Deno.test(`ADD refuses a device-info path that is ${name} with code 7, changing nothing`, async () => {
    await using w = await world();
    Deno.writeTextFileSync(`${w.stateDir}/victim`, "root's own file\n");
    prepare?.(w);
    const before = w.kernel.view();
    const listing = [...Deno.readDirSync(w.deviceInfoDir)].map((e) => e.name);
    const conf = netConf(1, {
      runtimeConfig: { CNIDeviceInfoFile: path, infinibandGUID: GUID },
      rdmaIsolation: true,
    });
    // Through dispatch(): the validator refuses some of these before the handler runs.
    const run = await invoke(w, "ADD", conf);
    const { code, msg } = JSON.parse(run.stdout);
    assert.deepEqual({ status: run.status, code, msg }, { status: 1, code: 7, msg: message });
    assert.deepEqual(w.kernel.view(), before);
    assert.equal(w.faults.count, 0, `mutating steps: ${w.faults.log.join("; ")}`);
    assert.deepEqual(w.stateFiles(), ["victim"]);
    assert.equal(Deno.readTextFileSync(`${w.stateDir}/victim`), "root's own file\n");
    assert.deepEqual([...Deno.readDirSync(w.deviceInfoDir)].map((e) => e.name), listing);
  });
}

Deno.test("cmdAdd() that fails after writing the device-info file puts back Multus's document", async () => {
  await using w = await world();
  const original = multusCopies(w, dpDocument(hostRdma(w)));
  const store = w.deps.store;
  // The last write of ADD, the record marked attached, fails: after the device-info write.
  const failing = new Proxy(store, {
    get(target, key) {
      if (key === "writeAttachment") {
        return (record: AttachmentRecord) => {
          if (record.phase === "attached") throw new Error("disk full");
          target.writeAttachment(record);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const conf = withFile({ runtimeConfig: { CNIDeviceInfoFile: PATH, infinibandGUID: GUID } });
  const err = await cmdAdd({ ...w.deps, store: failing }, request("ADD", conf)).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error && err.message === "disk full", String(err));
  assert.equal(Deno.readTextFileSync(`${w.deviceInfoDir}/${NAME}`), original);
  assert.equal(Deno.statSync(`${w.deviceInfoDir}/${NAME}`).mode! & 0o7777, 0o444);
});

for (const existing of [true, false]) {
  Deno.test(`cmdAdd() with a device-info file ${existing ? "Multus copied" : "to create"} leaves it as it was when any step fails`, async () => {
    const conf = withFile({
      runtimeConfig: { CNIDeviceInfoFile: PATH, infinibandGUID: GUID },
      link_state: "enable",
      rdmaIsolation: true,
    });
    let steps: number;
    {
      await using w = await world();
      await cmdAdd(w.deps, request("ADD", conf));
      steps = w.faults.count;
      assert.equal(w.faults.log.at(-1), `write device-info ${PATH}`);
    }
    for (let n = 1; n <= steps; n++) {
      await using w = await world();
      const original = existing ? multusCopies(w, dpDocument(hostRdma(w))) : null;
      const before = w.kernel.view();
      w.faults.failAt = n;
      const err = await cmdAdd(w.deps, request("ADD", conf)).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof CniError, `step ${n}: ${String(err)}`);
      assert.deepEqual(w.kernel.view(), before, `after failing step ${n}: ${w.faults.log[n - 1]}`);
      const files = [...Deno.readDirSync(w.deviceInfoDir)].map((e) => e.name);
      if (original === null) {
        assert.deepEqual(files, [], `device-info after failing step ${n}`);
      } else {
        assert.deepEqual(files, [NAME], `device-info after failing step ${n}`);
        assert.equal(Deno.readTextFileSync(`${w.deviceInfoDir}/${NAME}`), original);
      }
    }
  });
}
