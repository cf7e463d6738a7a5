/**
 * The generator corpus (tests/fixtures/generators/) is what it says: Go-encoded stdin, the
 * environment the plugin accepts, configs the validator and the decoder accept, and the shapes
 * the tools render. tests/e2e/generator_corpus_test.ts runs each on the simulated VF.
 */
import assert from "node:assert/strict";
import { parseCmdArgs } from "../../../lib/cni/env.ts";
import { negotiateVersion } from "../../../lib/cni/versions.ts";
import { loadNetConf } from "../../../lib/config/load_net_conf.ts";
import { validateConfigBytes } from "../../../lib/config/validate_config.ts";
import { validateBytes } from "../../../lib/tool/validate.ts";
import { goJson, loadCorpus } from "../../fixtures/generators/corpus.ts";

const CORPUS = loadCorpus();
const encode = (text: string) => new TextEncoder().encode(text);
const configOf = (stdin: string) => JSON.parse(stdin) as Record<string, unknown>;

Deno.test("goJson() writes as Go's json.Marshal: keys sorted as text, compact, <>& escaped", () => {
  assert.equal(
    goJson({ b: [{ z: 1, a: null }], a: "x<y>&z\u2028", "10": true, "9": false }),
    '{"10":true,"9":false,"a":"x\\u003cy\\u003e\\u0026z\\u2028","b":[{"a":null,"z":1}]}',
  );
});

Deno.test("every corpus stdin is Go-encoded and every environment is one the plugin accepts", () => {
  assert.ok(CORPUS.length >= 15, `${CORPUS.length} cases`);
  for (const c of CORPUS) {
    assert.equal(goJson(configOf(c.stdin)), c.stdin, c.id);
    assert.deepEqual(
      Object.keys(c.env).sort(),
      ["CNI_ARGS", "CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS", "CNI_PATH"],
      c.id,
    );
    assert.equal(parseCmdArgs((name) => c.env[name]).command, "ADD", c.id);
  }
});

Deno.test("every corpus config and its NetworkAttachmentDefinition break no rule and decode for ADD", () => {
  for (const c of CORPUS) {
    const violations = validateConfigBytes(encode(c.stdin), {
      pluginConfig: true,
      requireDeviceId: true,
    });
    assert.deepEqual(violations, [], c.id);
    const config = configOf(c.stdin);
    const version = negotiateVersion(config["cniVersion"] as string, undefined);
    const conf = loadNetConf(config, version, "ADD");
    // `"ipam": {}` is no IPAM.
    const ipam = config["ipam"] as Record<string, unknown> | undefined;
    assert.equal(conf.ipam?.type, ipam?.["type"], c.id);
    if (c.nadFile !== undefined) {
      const findings = validateBytes(
        c.nadFile,
        Deno.readFileSync(c.nadFile),
        (bytes) => validateConfigBytes(bytes),
      );
      assert.deepEqual(findings, [], c.id);
    }
  }
});

Deno.test("the corpus has the shapes the generators render", () => {
  const has = (what: string, test: (c: typeof CORPUS[number]) => boolean) =>
    assert.ok(CORPUS.some(test), `no case with ${what}`);
  const config = (c: typeof CORPUS[number]) => configOf(c.stdin);
  for (
    const source of [
      "sriov-operator-",
      "nvidia-",
      "field-",
      "ib-kubernetes-",
      "multus-",
      "dra-",
      "kubevirt",
    ]
  ) {
    has(`an id starting ${source}`, (c) => c.id.startsWith(source));
  }
  has('"ipam":{}', (c) => c.stdin.includes('"ipam":{}'));
  has("link_state", (c) => config(c)["link_state"] === "enable");
  has("raw capabilities", (c) => config(c)["capabilities"] !== undefined);
  has("nv-ipam poolName", (c) => c.stdin.includes('"poolName":'));
  has("whereabouts with log_file", (c) => c.stdin.includes('"log_file":'));
  has("cniVersion 0.3.1", (c) => config(c)["cniVersion"] === "0.3.1");
  has("cniVersion 0.4.0", (c) => config(c)["cniVersion"] === "0.4.0");
  has("an empty args.cni.pkey", (c) => c.stdin.includes('"pkey":""'));
  has("runtimeConfig.infinibandGUID", (c) => c.stdin.includes('"infinibandGUID":"'));
  has("args.cni values that are not strings", (c) => c.stdin.includes('"ports":[18515'));
  has("deviceID and pciBusID", (c) => config(c)["pciBusID"] === config(c)["deviceID"]);
  has("deviceID without pciBusID", (c) => config(c)["pciBusID"] === undefined);
  has("a doubled CNI_PATH", (c) => c.env["CNI_PATH"] === "/opt/cni/bin:/opt/cni/bin");
  has("repeated CNI_ARGS keys", (c) => c.env["CNI_ARGS"]!.split("IgnoreUnknown=").length === 3);
  has("ifname vfnet0", (c) => c.env["CNI_IFNAME"] === "vfnet0");
  has("an ifname starting with a digit", (c) => /^[0-9]/.test(c.env["CNI_IFNAME"]!));
  has(
    "a NetworkAttachmentDefinition holding a conflist",
    (c) => c.nadFile !== undefined && Deno.readTextFileSync(c.nadFile).includes('"plugins"'),
  );
});
