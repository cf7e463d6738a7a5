/**
 * `ib-sriov validate` as an operator runs it: the bundle (`make bundle` first), under its own
 * permission flags, on the NAD layouts Kubernetes (go-yaml) accepts and on a mistyped `type`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runValidate } from "./sim.ts";

const GO_YAML = fileURLToPath(new URL("../fixtures/tool/go_yaml/", import.meta.url));

Deno.test("ib-sriov validate answers ok for every NAD layout go-yaml accepts", async () => {
  const files = [...Deno.readDirSync(GO_YAML)].map((e) => e.name).filter((n) => n.endsWith(".yaml"))
    .sort().map((n) => `${GO_YAML}${n}`);
  assert.ok(files.length >= 12, `${files.length} layouts`);
  const run = await runValidate(...files);
  assert.equal(run.stdout, files.map((f) => `${f}: ok\n`).join(""));
  assert.equal(run.code, 0);
});

Deno.test("ib-sriov validate reports a conflist whose ib-sriov plugin type is mistyped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ib-validate-" });
  try {
    const file = `${dir}/net.conflist`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "ib-chain",
        plugins: [{ type: "tuning" }, { type: "ib_sriov", pkey: "0x8001" }],
      }),
    );
    const run = await runValidate(file);
    assert.equal(
      run.stdout,
      `${file}: plugins[1].type: "ib_sriov" is not "ib-sriov": the conflist holds no ib-sriov ` +
        'plugin (a typo of "ib-sriov"?)\n',
    );
    assert.equal(run.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
