/**
 * The WASM validator against the TypeScript decoding (decodeRequestConfig, then loadNetConf) on
 * one corpus: valid configs, every rule broken, and a few thousand generated inputs (truncated,
 * mutated bytes, non-UTF-8, duplicate and escaped keys, deep nesting, huge). They must agree on
 * accept/reject, and neither may crash. The generator is seeded, so a failure names an input
 * that reproduces.
 *
 * Two documented differences are part of the reference: the validator refuses nesting deeper
 * than MAX_CONFIG_DEPTH (JSON.parse has no bound), and it reads an object with `plugins` as a
 * conflist unless told the input is one plugin's config.
 *
 * @module
 */
import assert from "node:assert/strict";
import { decodeRequestConfig, MAX_STDIN_BYTES } from "../../../lib/cni/dispatch.ts";
import { CniError } from "../../../lib/cni/errors.ts";
import { loadNetConf } from "../../../lib/config/load_net_conf.ts";
import {
  MAX_CONFIG_DEPTH,
  validateConfigBytes,
  ValidatorRule,
  type Violation,
} from "../../../lib/config/validate_config.ts";
import { prng } from "../../hostile_corpus.ts";

type Command = "ADD" | "DEL";
type Verdict = "accept" | "reject";

const encoder = new TextEncoder();
const encode = (text: string) => encoder.encode(text);

/** Nesting depth of well-formed JSON text (strings skipped), or 0 when it is not JSON. */
function depthOf(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** What the TypeScript decoding says; throws on anything but a CniError (a crash). */
function tsVerdict(bytes: Uint8Array, command: Command): Verdict {
  if (bytes.length > MAX_STDIN_BYTES) return "reject";
  try {
    const { config, cniVersion } = decodeRequestConfig(bytes);
    loadNetConf(config, cniVersion, command);
    return "accept";
  } catch (err) {
    if (err instanceof CniError) return "reject";
    throw err;
  }
}

/**
 * The reference for a conflist: libcni's shape checks, then each ib-sriov entry as the runtime
 * hands it to the plugin, with the list's name and versions injected.
 */
function tsConflistVerdict(bytes: Uint8Array): Verdict {
  let list: Record<string, unknown>;
  try {
    list = decodeRequestConfig(bytes).config;
  } catch (err) {
    if (err instanceof CniError) return "reject";
    throw err;
  }
  const plugins = list.plugins;
  if (!Array.isArray(plugins) || plugins.length === 0) return "reject";
  for (const entry of plugins) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return "reject";
    const { type } = entry as Record<string, unknown>;
    if (typeof type !== "string" || type === "") return "reject";
    if (type !== "ib-sriov") continue;
    const { name: _n, cniVersion: _v, cniVersions: _vs, ...rest } = entry as Record<
      string,
      unknown
    >;
    const merged: Record<string, unknown> = { ...rest, name: list.name };
    if ("cniVersion" in list) merged.cniVersion = list.cniVersion;
    if ("cniVersions" in list) merged.cniVersions = list.cniVersions;
    if (tsVerdict(encode(JSON.stringify(merged)), "DEL") === "reject") return "reject";
  }
  return "accept";
}

function show(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes.subarray(0, 300));
  return `${JSON.stringify(text)}${bytes.length > 300 ? ` … (${bytes.length} bytes)` : ""}`;
}

/** Runs one input through both sides as the plugin reads stdin; returns the violations. */
function agree(bytes: Uint8Array, command: Command): Violation[] {
  const violations = validateConfigBytes(bytes, {
    pluginConfig: true,
    requireDeviceId: command === "ADD",
  });
  const ts = tsVerdict(bytes, command);
  const wasm: Verdict = violations.length === 0 ? "accept" : "reject";
  if (ts === "accept" && depthOf(bytes) > MAX_CONFIG_DEPTH) {
    assert.deepEqual(
      violations.map((v) => v.rule),
      [ValidatorRule.JsonDepth],
      `${command} ${show(bytes)}`,
    );
    return violations;
  }
  assert.equal(
    wasm,
    ts,
    `${command} ${show(bytes)}: TypeScript says ${ts}, WASM says ${wasm}: ${
      JSON.stringify(violations.map((v) => v.message))
    }`,
  );
  return violations;
}

// ------------------------------------------------------------------------------------------
// The corpus

const BASE = {
  cniVersion: "1.0.0",
  name: "ib-net",
  type: "ib-sriov",
  deviceID: "0000:3b:00.2",
};

const VALID: string[] = [
  JSON.stringify(BASE),
  '{"name":"n"}',
  JSON.stringify({
    cniVersion: "0.3.1",
    name: "mynet",
    type: "ib-sriov",
    deviceID: "0000:03:02.0",
    link_state: "enable",
    rdmaIsolation: true,
    ibKubernetesEnabled: false,
    pkey: "0x8001",
    ipam: { type: "host-local", subnet: "10.56.217.0/24", gateway: "10.56.217.1" },
  }),
  JSON.stringify({
    ...BASE,
    guid: "02:00:00:00:00:00:00:0a",
    runtimeConfig: { infinibandGUID: "FF:FF:FF:FF:FF:FF:FF:FF", ips: ["10.0.0.2/24"] },
    args: { cni: { guid: "00:11:22:33:44:55:66:77", "mellanox.infiniband.app": "a", z: null } },
    capabilities: { infinibandGUID: true, ips: true },
    dns: { nameservers: ["1.1.1.1"] },
    prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1" }], ips: [] },
    logLevel: "debug",
    logFile: "/var/log/ib-sriov.log",
    vfioPciMode: true,
    rdmaIsolation: false,
    Master: "ib0",
    "cni.dev/valid-attachments": [],
  }),
  '\ufeff{"name":"n","cniVersion":"1.1.0"}',
  ' \t\r\n{ "name" : "n" , "gu\\u0069d" : "02:00:00:00:00:00:00:0b" }\n',
  '{"name":"bad name","name":"n","guid":1,"guid":"02:00:00:00:00:00:00:0c"}',
  '{"name":"n","cniVersion":"","cniVersions":["0.4.0","7"]}',
  '{"name":"n","ipam":{"type":"dhcp","type":"static"}}',
  '{"name":"n","capabilities":{"a":1,"a":true}}',
  '{"name":"n","deviceID":"0000:3B:1f.7","pkey":"0x7fff","link_state":"disable"}',
  '{"name":"n","plugins":"not a list here","__proto__":{"guid":1}}',
];

/** Configs that each break one rule (the deviceID-less ones only for ADD). */
const BROKEN: string[] = [
  "",
  "{",
  "[]",
  "null",
  '{"name":"n",}',
  '{"name": "mynet" "type": "ib-sriov"}',
  '{"cniVersion":"1.0.0"}',
  '{"name":""}',
  '{"name":"a b"}',
  '{"name":"-x"}',
  '{"name":7}',
  '{"name":"n","cniVersion":1}',
  '{"name":"n","cniVersion":"9.9.9"}',
  '{"name":"n","cniVersions":"1.0.0"}',
  '{"name":"n","cniVersions":["2.0.0"]}',
  '{"name":"n","type":3}',
  '{"name":"n","deviceID":"0000:3b:00"}',
  '{"name":"n","deviceID":"0000:3b:20.0"}',
  '{"name":"n","guid":"00:00:00:00:00:00:00:00"}',
  '{"name":"n","guid":"02:00:00:00:00:00:00"}',
  '{"name":"n","runtimeConfig":{"infinibandGUID":"x"}}',
  '{"name":"n","args":{"cni":{"guid":5}}}',
  '{"name":"n","pkey":"0x8000"}',
  '{"name":"n","pkey":"0X1"}',
  '{"name":"n","link_state":"up"}',
  '{"name":"n","rdmaIsolation":"true"}',
  '{"name":"n","ibKubernetesEnabled":1}',
  '{"name":"n","vfioPciMode":null}',
  '{"name":"n","ipam":[]}',
  '{"name":"n","ipam":{}}',
  '{"name":"n","ipam":{"type":""}}',
  '{"name":"n","ipam":{"type":"dhcp"}}',
  '{"name":"n","vfioPciMode":true,"rdmaIsolation":true}',
  '{"name":"n","dns":"x"}',
  '{"name":"n","prevResult":[]}',
  '{"name":"n","capabilities":{"ips":"yes"}}',
  '{"name":"n","capabilities":[]}',
  '{"name":"n","args":{"cni":{"mellanox.infiniband.app":1}}}',
  '{"name":"n","args":[]}',
  '{"name":"n","args":{"cni":[]}}',
  '{"name":"n","logLevel":"trace"}',
  '{"name":"n","logFile":"rel"}',
  '{"name":"n","logFile":"/a\\u0000"}',
];

// Value pools for generated configs: the right type in the right form, near misses, wrong types.
const WRONG_TYPES = ["null", "1", "-0.5e3", "true", "[]", "{}", '[""]', '{"a":1}'];
const POOLS: Record<string, string[]> = {
  cniVersion: ['"1.0.0"', '"0.3.1"', '"1.1.0"', '""', '"1.0"', '"v1.0.0"', '"1.0.0 "', "1"],
  cniVersions: ['["1.0.0"]', '["0.1.0","1.1.0"]', '["9"]', '["1.0.0",2]', '"1.0.0"'],
  name: ['"n"', '"ib-net.1_a"', '""', '"a b"', '"_x"', '"x\\n"', '"\\u0041b"', "1"],
  type: ['"ib-sriov"', '"x"', '""'],
  deviceID: [
    '"0000:3b:00.2"',
    '"0000:AF:1f.7"',
    '"0000:3b:00"',
    '"0000:3b:00.8"',
    '"0000:3b:20.0"',
    '"000:3b:00.2"',
    '"0000:3b:00.2\\n"',
    '"0000\\u003a3b:00.2"',
  ],
  guid: [
    '"02:00:00:00:00:00:00:01"',
    '"FF:ff:ff:ff:ff:ff:ff:ff"',
    '"00:00:00:00:00:00:00:00"',
    '"02:00:00:00:00:00:00"',
    '"02-00-00-00-00-00-00-01"',
    '"02:00:00:00:00:00:00:0g"',
    '"02:00:00:00:00:00:00:001"',
  ],
  pkey: ['"0x1"', '"0x8001"', '"0xFFFF"', '"0x8000"', '"0x0"', '"0x"', '"0x12345"', '"1"'],
  linkState: ['"auto"', '"enable"', '"disable"', '"Auto"', '""', '"up"'],
  bool: ["true", "false", '"true"', "0"],
  ipam: [
    '{"type":"host-local"}',
    '{"type":"static","addresses":[]}',
    '{"type":"dhcp","type":"x"}',
    '{"type":"dhcp"}',
    '{"type":""}',
    '{"type":1}',
    '{"subnet":"x"}',
    '{"type":"x","type":"dhcp"}',
  ],
  object: ["{}", '{"a":[1,{"b":null}]}'],
  capabilities: [
    '{"ips":true}',
    '{"a":1,"a":false}',
    "{}",
    '{"a b":false}',
    '{"ips":1}',
    '{"a":false,"a":1}',
  ],
  runtimeConfig: [
    '{"infinibandGUID":"02:00:00:00:00:00:00:02"}',
    '{"ips":[]}',
    '{"infinibandGUID":"x"}',
  ],
  args: [
    '{"cni":{"guid":"02:00:00:00:00:00:00:03"}}',
    '{"cni":{"mellanox.infiniband.app":"x","other":[1]}}',
    '{"other":1}',
    '{"cni":{"guid":"0"}}',
    '{"cni":{"mellanox.infiniband.app":2}}',
    '{"cni":null}',
  ],
  logLevel: ['"info"', '"warning"', '"WARN"'],
  logFile: ['"/tmp/x.log"', '"x.log"', '""', '"/a\\u0000b"'],
};
/** How many values at the head of each pool are valid; the rest are near misses. */
const GOOD: Record<string, number> = {
  cniVersion: 4,
  cniVersions: 2,
  name: 2,
  type: 3,
  deviceID: 2,
  guid: 2,
  pkey: 3,
  linkState: 3,
  bool: 2,
  ipam: 3,
  object: 2,
  capabilities: 4,
  runtimeConfig: 2,
  args: 3,
  logLevel: 2,
  logFile: 1,
};
const FIELDS: [string, string][] = [
  ["cniVersion", "cniVersion"],
  ["cniVersions", "cniVersions"],
  ["name", "name"],
  ["type", "type"],
  ["deviceID", "deviceID"],
  ["guid", "guid"],
  ["pkey", "pkey"],
  ["link_state", "linkState"],
  ["rdmaIsolation", "bool"],
  ["ibKubernetesEnabled", "bool"],
  ["vfioPciMode", "bool"],
  ["ipam", "ipam"],
  ["dns", "object"],
  ["prevResult", "object"],
  ["capabilities", "capabilities"],
  ["runtimeConfig", "runtimeConfig"],
  ["args", "args"],
  ["logLevel", "logLevel"],
  ["logFile", "logFile"],
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** A key as JSON text, sometimes with an escape that JSON.parse decodes to the same key. */
function keyText(rand: () => number, key: string): string {
  if (rand() < 0.1 && key.length > 0) {
    const i = Math.floor(rand() * key.length);
    const code = key.charCodeAt(i).toString(16).padStart(4, "0");
    return `"${key.slice(0, i)}\\u${code}${key.slice(i + 1)}"`;
  }
  return JSON.stringify(key);
}

/** A random plugin config from the pools, with duplicate keys and odd whitespace now and then. */
function generateConfig(rand: () => number): string {
  const members: string[] = [];
  const ws = () => pick(rand, ["", "", " ", "\n\t", "\r\n  "]);
  for (const [key, pool] of FIELDS) {
    const chance = key === "name" ? 0.95 : key === "deviceID" ? 0.7 : 0.25;
    const times = rand() < 0.08 ? 2 : 1;
    for (let i = 0; i < times; i++) {
      if (rand() >= chance) continue;
      const values = POOLS[pool]!;
      const r = rand();
      const bad = values.slice(GOOD[pool]);
      const value = r < 0.8
        ? pick(rand, values.slice(0, GOOD[pool]))
        : r < 0.95 && bad.length > 0
        ? pick(rand, bad)
        : pick(rand, WRONG_TYPES);
      members.push(`${ws()}${keyText(rand, key)}${ws()}:${ws()}${value}${ws()}`);
    }
  }
  if (rand() < 0.2) members.push(`"unknown":${pick(rand, WRONG_TYPES)}`);
  for (let i = members.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [members[i], members[j]] = [members[j]!, members[i]!];
  }
  return `${ws()}{${members.join(",")}}${ws()}`;
}

/** UTF-8 sequences, valid (é, €, 😀, BOM) and not (surrogate, overlong, too high, cut). */
const SEQUENCES: number[][] = [
  [0xc3, 0xa9],
  [0xe2, 0x82, 0xac],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xef, 0xbb, 0xbf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xf0, 0x80, 0x80, 0xaf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
];

/** Byte-level damage: flips, inserts (non-UTF-8 bytes among them), deletions, truncation. */
function mutate(rand: () => number, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  const specials = [
    0x00,
    0x22,
    0x5c,
    0x7b,
    0x7d,
    0x5b,
    0x5d,
    0x2c,
    0x3a,
    0x80,
    0xbf,
    0xc0,
    0xc3,
    0xed,
    0xef,
    0xf4,
    0xf5,
    0xff,
  ];
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(rand() * (out.length + 1));
    const kind = rand();
    if (kind < 0.3) out.splice(i, 1);
    else if (kind < 0.55) out.splice(i, 0, pick(rand, specials));
    else if (kind < 0.7) out.splice(i, 0, ...pick(rand, SEQUENCES));
    else if (kind < 0.85) out[Math.min(i, out.length - 1)] = Math.floor(rand() * 256);
    else out.splice(i, out.length - i);
  }
  return new Uint8Array(out);
}

function nested(depth: number, inner = "1"): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}

Deno.test("validator and TypeScript decoding agree on valid configs, for ADD and DEL", () => {
  for (const text of VALID) {
    for (const command of ["ADD", "DEL"] as const) {
      const needsDevice = command === "ADD" && !text.includes("deviceID");
      const violations = agree(encode(text), command);
      if (!needsDevice) assert.deepEqual(violations, [], text);
    }
  }
});

Deno.test("validator and TypeScript decoding agree on every broken rule", () => {
  const seen = new Set<number>();
  for (const text of BROKEN) {
    const violations = agree(encode(text), "DEL");
    assert.ok(violations.length > 0, `${text} is accepted`);
    for (const v of violations) seen.add(v.rule);
  }
  const more: [Uint8Array, Command][] = [
    [new Uint8Array([0x7b, 0xff, 0x7d]), "DEL"],
    [new Uint8Array(MAX_STDIN_BYTES + 1).fill(0x20), "DEL"],
    [encode(`{"name":"n","x":${nested(MAX_CONFIG_DEPTH)}}`), "DEL"],
    [encode('{"name":"n"}'), "ADD"],
  ];
  for (const [bytes, command] of more) {
    for (const v of agree(bytes, command)) seen.add(v.rule);
  }
  // Every rule but the conflist's own is broken here at least once.
  const rules = Object.values(ValidatorRule).filter((r) => r !== ValidatorRule.Plugins);
  assert.deepEqual([...seen].sort((a, b) => a - b), rules);
});

Deno.test("validator and TypeScript decoding agree on 3000 generated configs", () => {
  const rand = prng(0x1b5e17);
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const text = generateConfig(rand);
    const command = rand() < 0.5 ? "ADD" : "DEL";
    if (agree(encode(text), command).length === 0) accepted++;
  }
  // The pools are tuned so both verdicts are common; a generator stuck on one proves little.
  assert.ok(accepted > 300 && accepted < 2700, `${accepted} of 3000 accepted`);
});

Deno.test("validator and TypeScript decoding agree on truncated and byte-mutated configs", () => {
  const rand = prng(0xc0ffee);
  const sources = [...VALID, ...BROKEN].map(encode);
  for (const source of sources) {
    for (let end = 0; end < source.length; end++) agree(source.subarray(0, end), "DEL");
  }
  for (let i = 0; i < 3000; i++) {
    const source = rand() < 0.5 ? pick(rand, sources) : encode(generateConfig(rand));
    agree(mutate(rand, source), rand() < 0.5 ? "ADD" : "DEL");
  }
});

Deno.test("validator and TypeScript decoding agree on deep, huge and duplicate-key inputs", () => {
  const rand = prng(7);
  for (const depth of [1, 126, 127, 128, 129, 1000, 20_000]) {
    agree(encode(`{"name":"n","x":${nested(depth)}}`), "DEL");
    agree(encode(`{"name":"n","guid":${nested(depth)}}`), "DEL");
    agree(encode(`{"name":"n","args":{"cni":{"x":${nested(depth)}}}}`), "DEL");
    agree(encode(nested(depth, '{"name":"n"}')), "DEL");
    agree(encode("[".repeat(depth)), "DEL");
    agree(encode(`{"name":"n","a":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`), "DEL");
  }
  // Huge: a big unknown member, a long name, many capabilities, a long key, at the size limit.
  const filler = "x".repeat(MAX_STDIN_BYTES - 40);
  agree(encode(`{"name":"n","pad":"${filler}"}`), "DEL");
  agree(encode(`{"name":"n","pad":"${filler}x"}`), "DEL");
  agree(encode(`{"name":"${"a".repeat(1_000_000)}"}`), "DEL");
  agree(encode(`{"name":"${"a".repeat(1_000_000)} "}`), "DEL");
  const caps = Array.from({ length: 50_000 }, (_, i) => `"c${i % 1000}":${i % 7 ? "true" : "1"}`);
  agree(encode(`{"name":"n","capabilities":{${caps.join(",")}}}`), "DEL");
  agree(encode(`{"name":"n","capabilities":{${caps.join(",")},"c0":true}}`), "DEL");
  agree(
    encode(`{"name":"n","prevResult":${JSON.stringify({ ips: Array(100_000).fill({ a: "1" }) })}}`),
    "DEL",
  );
  // Duplicate keys, with and without escapes: the last one counts.
  for (let i = 0; i < 500; i++) {
    const [key, pool] = pick(rand, FIELDS);
    const a = pick(rand, POOLS[pool]!);
    const b = pick(rand, POOLS[pool]!);
    const text = `{"name":"n","deviceID":"0000:3b:00.2",${keyText(rand, key)}:${a},${
      keyText(rand, key)
    }:${b}}`;
    agree(encode(text), rand() < 0.5 ? "ADD" : "DEL");
  }
});

Deno.test("validator and TypeScript decoding agree on conflists", () => {
  const rand = prng(42);
  for (let i = 0; i < 1000; i++) {
    const entries: string[] = [];
    const count = Math.floor(rand() * 4);
    for (let j = 0; j < count; j++) {
      const r = rand();
      if (r < 0.6) entries.push(generateConfig(rand).replace("{", '{"type":"ib-sriov",'));
      else if (r < 0.8) {
        entries.push(pick(rand, ['{"type":"tuning","mtu":1}', '{"type":""}', "{}"]));
      } else entries.push(pick(rand, ["1", "null", "[]"]));
    }
    const version = pick(rand, [
      '"cniVersion":"1.0.0",',
      '"cniVersion":"9",',
      "",
      '"cniVersions":["1.1.0"],',
    ]);
    const name = pick(rand, ['"name":"n",', '"name":"a b",', ""]);
    const plugins = rand() < 0.9 ? `[${entries.join(",")}]` : pick(rand, ["{}", '"x"']);
    const bytes = encode(`{${version}${name}"plugins":${plugins}}`);
    const wasm = validateConfigBytes(bytes).length === 0 ? "accept" : "reject";
    assert.equal(wasm, tsConflistVerdict(bytes), show(bytes));
  }
});
