import assert from "node:assert/strict";
import { join } from "node:path";
import { buildWasm, REPO_ROOT, WASM_OUTPUT } from "../../../tools/build_wasm.ts";

Deno.test("lib/config/validator.wasm is what `deno task build:wasm` builds from its source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ib-sriov-wasm-" });
  try {
    const out = join(dir, "validator.wasm");
    const failure = await buildWasm(out);
    assert.equal(failure, null, `the build failed: ${failure}`);
    const built = await Deno.readFile(out);
    const committed = await Deno.readFile(join(REPO_ROOT, WASM_OUTPUT));
    assert.ok(
      built.length === committed.length && built.every((b, i) => b === committed[i]),
      `${WASM_OUTPUT} is stale (${committed.length} bytes, a rebuild gives ${built.length}): run \`deno task build:wasm\` and commit it`,
    );
    // A second build gives the same bytes: the build is reproducible, not just current.
    assert.equal(await buildWasm(out), null);
    assert.deepEqual(await Deno.readFile(out), built);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
