/**
 * `ib-sriov install` from the real bundle, against real mounts: a read-only one, a full one, and
 * the installed plugin run the way a runtime runs it, from `/opt/cni/bin` with no Deno on PATH.
 * Needs root (mounts) and `make bundle`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  installBundle,
  listing,
  logLines,
  runInstalled,
  tmpfs,
  VERSION_ANSWER,
} from "./_runtime.ts";

Deno.test("install into a read-only mount exits 1 naming the directory and the reason", async () => {
  await using mount = await tmpfs("ro,size=1m");
  const out = await installBundle(mount.dir);
  assert.equal(out.code, 1, out.stderr);
  const last = logLines(out.stderr).at(-1)!;
  assert.equal(last.level, "error");
  assert.equal(
    last.msg,
    `Cannot install into "${mount.dir}": the file system is read-only (mount the host's CNI bin directory read-write)`,
  );
  assert.deepEqual(await listing(mount.dir), []);
});

Deno.test("install onto a full file system exits 1 and leaves no temp file", async () => {
  // 1 MiB: the runtime (about 95 MB) cannot fit.
  await using mount = await tmpfs("size=1m");
  const out = await installBundle(mount.dir);
  assert.equal(out.code, 1, out.stderr);
  assert.equal(
    logLines(out.stderr).at(-1)!.msg,
    `Cannot install into "${mount.dir}": no space left on the device`,
  );
  assert.deepEqual(await listing(mount.dir), ["ib-sriov.d/"]);
});

Deno.test("the installed plugin runs from /opt/cni/bin with no Deno on PATH and answers VERSION", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ib-sriov-bin-" });
  try {
    const first = await installBundle(dir);
    assert.equal(first.code, 0, first.stderr);
    // Twice: the second install replaces the files in place, harmlessly.
    const second = await installBundle(dir);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await listing(dir), ["ib-sriov", "ib-sriov.d/", "ib-sriov.d/deno"]);
    const out = await runInstalled(dir, { CNI_COMMAND: "VERSION" }, "{}");
    assert.equal(out.stderr, "");
    assert.equal(out.code, 0);
    assert.deepEqual(JSON.parse(out.stdout), VERSION_ANSWER);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
