import assert from "node:assert/strict";
import { join } from "node:path";
import { stateErrorToCni } from "../../../lib/plugin/to_cni_error.ts";
import { FileStore } from "../../../lib/state/file_store.ts";
import { StateError } from "../../../lib/state/state_error.ts";

const PCI = "0000:04:00.7";

async function runDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "lock-" }), "run");
}

/** A timeout is a `busy` StateError, which the plugin answers with code 11 (try again later). */
async function assertTimesOut(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    assert.equal(err.code, "busy");
    assert.match(err.path, /\.lock$/);
    const cni = stateErrorToCni(err);
    assert.equal(cni.code, 11);
    assert.equal(cni.message, message);
    return true;
  });
}

Deno.test("FileStore.lock() excludes another FileStore in the same process and names the holder", async () => {
  const dir = await runDir();
  using first = new FileStore({ cacheDir: dir, runDir: dir, holder: "container c1" });
  using second = new FileStore({ cacheDir: dir, runDir: dir, holder: "container c2" });
  const held = await first.lock(PCI, 0);
  await assertTimesOut(
    second.lock(PCI, 30),
    `timed out after 30 ms waiting for lock "${PCI}" held by pid ${Deno.pid} (container c1)`,
  );
  using _other = await second.lock("node", 0);
  held[Symbol.dispose]();
  using _again = await second.lock(PCI, 0);
});

Deno.test("FileStore.lock() waits for a lock released while it waits", async () => {
  const dir = await runDir();
  using store = new FileStore({ runDir: dir });
  const held = await store.lock("node", 0);
  // lock() makes its first attempt before it first awaits, so this one has already failed.
  const waiting = store.lock("node", 10_000);
  held[Symbol.dispose]();
  using _lock = await waiting;
  assert.deepEqual(
    JSON.parse(Deno.readTextFileSync(join(dir, "node.owner"))),
    { pid: Deno.pid },
    "the owner file names the new holder (no holder option: PID only)",
  );
});

Deno.test("FileStore.lock() keeps the lock file 0600, and dispose removes the owner file once", async () => {
  const dir = await runDir();
  using store = new FileStore({ runDir: dir, holder: "c1" });
  const lock = await store.lock("node", 0);
  assert.equal((Deno.statSync(dir).mode ?? 0) & 0o777, 0o700);
  assert.equal((Deno.statSync(join(dir, "node.lock")).mode ?? 0) & 0o777, 0o600);
  assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(dir, "node.owner"))), {
    pid: Deno.pid,
    holder: "c1",
  });
  lock[Symbol.dispose]();
  lock[Symbol.dispose]();
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["node.lock"]);
});

Deno.test("FileStore.lock() names an unknown process when the holder wrote no owner file", async () => {
  const dir = await runDir();
  Deno.mkdirSync(dir, { recursive: true });
  using file = Deno.openSync(join(dir, "node.lock"), { read: true, write: true, create: true });
  file.lockSync(true);
  using store = new FileStore({ runDir: dir });
  await assertTimesOut(
    store.lock("node", 0),
    'timed out after 0 ms waiting for lock "node" held by an unknown process',
  );
});

Deno.test("FileStore.lock() excludes another process and names its PID", async () => {
  const dir = await runDir();
  const storeUrl = new URL("../../../lib/state/file_store.ts", import.meta.url).href;
  // The child takes the lock, says so, and holds it until its stdin is closed.
  const script = `
    import { FileStore } from ${JSON.stringify(storeUrl)};
    using store = new FileStore({ runDir: ${JSON.stringify(dir)}, holder: "container other" });
    const lock = await store.lock(${JSON.stringify(PCI)}, 5000);
    await Deno.stdout.write(new TextEncoder().encode("locked\\n"));
    for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
    lock[Symbol.dispose]();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    // The repo's config maps the npm imports (zod) of the state modules.
    args: ["eval", "--config", new URL("../../../deno.json", import.meta.url).pathname, script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    said += value;
  }
  using store = new FileStore({ runDir: dir });
  try {
    assert.equal(said, "locked\n");
    await assertTimesOut(
      store.lock(PCI, 50),
      `timed out after 50 ms waiting for lock "${PCI}" held by pid ${child.pid} (container other)`,
    );
  } finally {
    await child.stdin.close();
    await reader.cancel();
  }
  using _lock = await store.lock(PCI, 10_000);
  assert.equal((await child.status).code, 0);
});

Deno.test("stateErrorToCni() gives every other state failure code 103 with the file in details", async () => {
  const dir = await runDir();
  Deno.mkdirSync(dir, { recursive: true });
  Deno.mkdirSync(join(dir, "node.lock"));
  using store = new FileStore({ runDir: dir });
  await assert.rejects(store.lock("node", 0), (err: unknown) => {
    assert.ok(err instanceof StateError);
    assert.equal(err.code, "io");
    const path = join(dir, "node.lock");
    assert.match(err.message, new RegExp(`^Cannot open lock file "${path}": `));
    const cni = stateErrorToCni(err);
    assert.equal(cni.code, 103);
    assert.equal(cni.message, err.message);
    assert.equal(cni.details, `state file ${path}`);
    return true;
  });
});
