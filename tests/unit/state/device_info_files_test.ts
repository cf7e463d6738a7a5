import assert from "node:assert/strict";
import { ConfinedPathError } from "../../../lib/state/confined_path.ts";
import { DeviceInfoFiles } from "../../../lib/state/device_info_files.ts";

const DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";

/** A device-info root in a temp dir, as Multus leaves it (owned by us, not group-writable). */
async function rooted(): Promise<{ root: string; files: DeviceInfoFiles } & AsyncDisposable> {
  const base = await Deno.makeTempDir({ prefix: "ib-sriov-devinfo-unit-" });
  const root = `${base}/cni`;
  Deno.mkdirSync(root, { mode: 0o700 });
  return {
    root,
    files: new DeviceInfoFiles({ root }),
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true });
    },
  };
}

function assertRule(fn: () => unknown, rule: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfinedPathError, String(err));
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
  const files = new DeviceInfoFiles({ root: via });
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
    assert.ok(err instanceof ConfinedPathError);
    assert.equal(err.rule, "io");
    assert.equal(err.message, `Cannot read "${d.root}/big": File too large`);
    return true;
  });
});
