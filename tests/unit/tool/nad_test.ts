import assert from "node:assert/strict";
import { configDocuments } from "../../../lib/tool/nad.ts";
import { BROKEN_YAML, fixture } from "./_tool_io.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array | null) =>
  bytes === null ? null : new TextDecoder().decode(bytes);

Deno.test("configDocuments() hands a JSON config over byte for byte", () => {
  const bytes = Deno.readFileSync(fixture("ib-net.json"));
  const docs = configDocuments("ib-net.json", bytes);
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.config, bytes);
  assert.equal(docs[0]!.pathPrefix, "");
  assert.equal(docs[0]!.source, "ib-net.json");
});

Deno.test("configDocuments() hands malformed JSON and non-UTF-8 to the validator as they are", () => {
  for (const bytes of [encode('{"name": "x",'), new Uint8Array([0x7b, 0xff, 0x7d])]) {
    const docs = configDocuments("x.json", bytes);
    assert.deepEqual(docs, [{ source: "x.json", pathPrefix: "", config: bytes }]);
  }
});

Deno.test("configDocuments() takes spec.config out of a JSON NetworkAttachmentDefinition", () => {
  const docs = configDocuments("nad.json", Deno.readFileSync(fixture("nad.json")));
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.name, "ib-net");
  assert.equal(docs[0]!.pathPrefix, "spec.config");
  assert.equal(JSON.parse(decode(docs[0]!.config)!).name, "ib-net");
});

Deno.test("configDocuments() numbers the documents of a multi-document YAML file", () => {
  const docs = configDocuments("nads.yaml", Deno.readFileSync(fixture("nads.yaml")));
  assert.deepEqual(docs.map((d) => [d.source, d.document, d.name, d.pathPrefix]), [
    ["nads.yaml (document 1)", 1, "ib-net", "spec.config"],
    ["nads.yaml (document 2)", 2, "ib-net-2", "spec.config"],
  ]);
  // The block scalar keeps the config's text, newlines and all.
  assert.match(decode(docs[0]!.config)!, /^\{\n {2}"cniVersion": "1\.0\.0",\n/);
  assert.equal(
    decode(docs[1]!.config),
    '{"cniVersion": "1.0.0", "name": "ib-net-2", "type": "ib-sriov", "guid": "02:00"}',
  );
});

Deno.test("configDocuments() says why a YAML document holds no config", () => {
  const docs = configDocuments("not-nad.yaml", Deno.readFileSync(fixture("not-nad.yaml")));
  assert.deepEqual(docs.map((d) => [d.config, d.problem]), [
    [null, 'not a NetworkAttachmentDefinition (kind "ConfigMap"); a CNI config must be JSON'],
    [
      null,
      'NetworkAttachmentDefinition "no-config" has no spec.config: Multus then reads the config ' +
      "from a file on each node, which this tool cannot see",
    ],
  ]);
});

Deno.test("configDocuments() reports a YAML syntax error with its line", () => {
  const docs = configDocuments("broken.yaml", encode(BROKEN_YAML));
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.config, null);
  assert.match(docs[0]!.problem!, /^not valid YAML: .*line \d+/s);
});

Deno.test("configDocuments() refuses a spec.config that is not a string", () => {
  const nad = { kind: "NetworkAttachmentDefinition", spec: { config: { name: "x" } } };
  const docs = configDocuments("nad.json", encode(JSON.stringify(nad)));
  assert.equal(
    docs[0]!.problem,
    'spec.config must be a string holding the JSON CNI config, got {"name":"x"}',
  );
});

Deno.test("configDocuments() finds nothing in a YAML file of comments", () => {
  assert.deepEqual(configDocuments("empty.yaml", encode("# nothing\n---\n")), []);
});
