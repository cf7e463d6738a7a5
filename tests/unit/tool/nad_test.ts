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

/**
 * Layouts of a NAD that Kubernetes takes (go-yaml), and the `metadata.name` and `spec.config`
 * that libyaml, whose scanner go-yaml v2 and v3 port, reads from each document (recorded in
 * expected.json with PyYAML's CSafeLoader, which is libyaml itself).
 */
const GO_YAML = new URL("../../fixtures/tool/go_yaml/", import.meta.url);

Deno.test("configDocuments() reads every layout go-yaml accepts to the spec.config go-yaml reads", async () => {
  const expected: Record<string, { name: string; config: string }[]> = JSON.parse(
    await Deno.readTextFile(new URL("expected.json", GO_YAML)),
  );
  const files = [...Deno.readDirSync(GO_YAML)].map((e) => e.name).filter((n) => n.endsWith(".yaml"))
    .sort();
  assert.deepEqual(files, Object.keys(expected).sort(), "every layout has its expected reading");
  for (const file of files) {
    const docs = configDocuments(file, await Deno.readFile(new URL(file, GO_YAML)));
    assert.deepEqual(
      docs.map((d) => d.problem ?? { name: d.name, config: decode(d.config) }),
      expected[file],
      file,
    );
  }
});

Deno.test("configDocuments() still refuses a quoted spec.config that go-yaml refuses", () => {
  const nad = "kind: NetworkAttachmentDefinition\nmetadata:\n  name: x\nspec:\n";
  // No closing quote before the end: go-yaml says "found unexpected end of stream".
  assert.deepEqual(
    configDocuments("x.yaml", encode(`${nad}  config: '{"type": "ib-sriov"}\n`)).map((d) =>
      d.problem
    ),
    [
      "not valid YAML: Missing closing 'quote at line 6, column 1:\n\n" +
      `  config: '{"type": "ib-sriov"}\n\n^\n`,
    ],
  );
  // A document marker at the start of a line inside the scalar: go-yaml says "found unexpected
  // document indicator", whatever the quote.
  for (const [quote, marker] of [["'", "---"], ['"', "..."]]) {
    assert.deepEqual(
      configDocuments("x.yaml", encode(`${nad}  config: ${quote}{\n${marker}\n}${quote}\n`)).map(
        (d) => d.problem,
      ),
      [
        `not valid YAML: Missing closing ${quote}quote at line 5, column 13:\n\n` +
        `  config: ${quote}{\n            ^\n`,
        `not valid YAML: Missing closing ${quote}quote at line 8, column 1:\n\n}${quote}\n\n^\n`,
      ],
    );
  }
});
