import assert from "node:assert/strict";
import { join } from "node:path";
import { FsInstaller } from "../../../lib/tool/installer.ts";
import { StateError } from "../../../lib/state/state_error.ts";

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "installer-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

function assertIoError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    assert.equal(err.code, "io");
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("FsInstaller.makeDir() creates a 0755 directory and accepts one that exists", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const dir = join(root, "ib-sriov.d");
  const installer = new FsInstaller();
  installer.makeDir(dir);
  installer.makeDir(dir);
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o755);
  assert.ok(installer.isDirectory(dir));
});

Deno.test("FsInstaller.makeDir() over a file throws naming the path", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const path = join(root, "ib-sriov.d");
  await Deno.writeTextFile(path, "");
  const installer = new FsInstaller();
  assert.equal(installer.isDirectory(path), false);
  assertIoError(
    () => installer.makeDir(path),
    `Cannot create "${path}": File exists (os error 17): mkdir '${path}'`,
  );
});

Deno.test("FsInstaller.writeFile() copying a missing file throws and leaves no temp file", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const target = join(root, "deno");
  const from = join(root, "absent");
  assertIoError(
    () => new FsInstaller().writeFile(target, { copyFrom: from }, 0o755),
    `Cannot write "${target}.tmp-${Deno.pid}": No such file or directory (os error 2): ` +
      `copy '${from}' -> '${target}.tmp-${Deno.pid}'`,
  );
  assert.deepEqual([...Deno.readDirSync(root)], []);
});

Deno.test("FsInstaller.writeFile() sets the mode it is given, not the temp file's 0600", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const target = join(root, "ib-sriov");
  new FsInstaller().writeFile(target, new Uint8Array([1, 2, 3]), 0o751);
  assert.equal((await Deno.stat(target)).mode! & 0o777, 0o751);
  assert.deepEqual(await Deno.readFile(target), new Uint8Array([1, 2, 3]));
});
