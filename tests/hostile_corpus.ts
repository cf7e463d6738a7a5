/**
 * A reproducible corpus of hostile CNI invocations, shared by the plugin tier
 * (tests/plugin/hostile_input_test.ts, through `dispatch()`) and the e2e tier
 * (tests/e2e/hostile_input_test.ts, through the bundle).
 *
 * Each case is an environment override and a stdin, plus an oracle written from the CNI spec and
 * the README (not from the plugin's code): for which commands the input must be refused, and with
 * which codes. Where the spec lets the input through (a pass-through field such as `CNI_PATH` or
 * `args.cni`), the oracle says "either": the harness then checks only the invariants that hold
 * for every answer (one JSON error object or a result, no stack trace, nothing written outside the
 * state directory, the node unchanged or restored by DEL).
 *
 * The generator is driven by a seeded PRNG (mulberry32): the same seed gives the same corpus.
 *
 * @module
 */

/** The six CNI commands. */
export const COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"] as const;
/** One of {@link COMMANDS}. */
export type Command = typeof COMMANDS[number];

/** Every code the plugin may answer with (spec codes, libcni's 8, and the plugin's 100-104). */
export const KNOWN_CODES: ReadonlySet<number> = new Set([
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  11,
  50,
  51,
  100,
  101,
  102,
  103,
  104,
]);

/** The stdin limit of the README: 4 MiB. */
export const STDIN_LIMIT = 4 * 1024 * 1024;

/** What a case must produce for the commands it must refuse. */
export interface Refusal {
  /** The commands that must exit 1 with an error object. */
  commands: readonly Command[];
  /** The codes allowed for those commands. */
  codes: readonly number[];
}

/** One hostile invocation. */
export interface HostileCase {
  /** `category/n`, stable for a given seed. */
  id: string;
  /** The corpus category (see {@link CATEGORIES}). */
  category: Category;
  /** What the case does, for failure messages. */
  what: string;
  /** Environment overrides over the base environment; `null` unsets a variable. */
  env: Record<string, string | null>;
  /** Stdin; `null` means the base config. */
  stdin: Uint8Array | null;
  /** Run only these commands (default: all six). */
  only?: readonly Command[];
  /** Commands that must refuse the input, and how; the others may accept or refuse it. */
  refuse: Refusal;
  /** The input is refused before the plugin looks at the node or its state directory. */
  early: boolean;
}

/** The categories of the corpus. */
export const CATEGORIES = [
  "env-containerid",
  "env-ifname",
  "env-netns",
  "env-args",
  "env-path",
  "env-command",
  "env-nul",
  "json-malformed",
  "json-size",
  "json-depth",
  "config-type",
  "config-string",
  "config-huge",
  "random-bytes",
  "path",
] as const;
/** One of {@link CATEGORIES}. */
export type Category = typeof CATEGORIES[number];

/** The base invocation the corpus mutates. */
export interface CorpusBase {
  /** The network config; must be accepted by ADD. */
  config: Record<string, unknown>;
  /** `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_PATH` of the base invocation. */
  env: Record<string, string>;
}

/** Options of {@link buildCorpus}. */
export interface CorpusOptions {
  /** The PRNG seed. */
  seed: number;
  /** How many random cases per category with a random part (the fixed cases always come). */
  random: number;
  /** Include the stdin cases of several MiB. */
  huge: boolean;
}

/**
 * mulberry32: a small seeded PRNG, enough to make a corpus reproducible.
 *
 * @param seed any 32-bit integer
 * @returns a function giving floats in [0, 1)
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MB = 1024 * 1024;
const ALL_BUT_VERSION: readonly Command[] = ["ADD", "DEL", "CHECK", "STATUS", "GC"];
const WITH_IFNAME: readonly Command[] = ["ADD", "DEL", "CHECK"];
/**
 * Who refuses a config that breaks a rule (docs/how-it-works.md, "DEL"): ADD, CHECK and STATUS
 * refuse any; GC only one without a network name (so not a JSON object); DEL only one whose
 * version it cannot answer in, since it works from its attachment record.
 */
const STRICT: readonly Command[] = ["ADD", "CHECK", "STATUS"];
const NEEDS_NAME: readonly Command[] = [...STRICT, "GC"];
const encoder = new TextEncoder();

/** Hand-picked hostile strings: path tricks, control characters, shell and format syntax. */
const FIXED_STRINGS: readonly string[] = [
  "",
  " ",
  ".",
  "..",
  "../",
  "../../../../etc/passwd",
  "..\\..\\windows",
  "/",
  "/etc/passwd",
  "/var/lib/cni/ib-sriov/../../../../tmp/x",
  "a/b",
  "a/../../b",
  "a\0b",
  "\0",
  "x\0/../../etc",
  "a\nb",
  "\r\n",
  "line1\nline2\n",
  "\t",
  "\x1b[31mred\x1b[0m",
  "\x7f",
  "\x01\x02\x03",
  "\u2028\u2029",
  "\ud800",
  "\ufeffbom",
  "%2e%2e%2f%2e%2e",
  "~root",
  "$(touch /tmp/pwned)",
  "`id`",
  "'; rm -rf / #",
  "a:b",
  "name with space",
  "-rf",
  "--help",
  "lo",
  "eth0",
  "ibp59s0f0v1",
  "abcdefghijklmnop",
  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
  "\u7f51\u5361",
  "\u{1f4a3}",
  "%s%s%s%n",
  "${jndi:ldap://x}",
  "null",
  "true",
  "0",
  "-1",
  "9".repeat(400),
  "a".repeat(201),
  "a".repeat(4096),
];

/** Characters random strings are made of: mostly dangerous ones. */
const ALPHABET = [
  ..."abcXYZ019_-.",
  "/",
  "/",
  "..",
  "../",
  "\0",
  "\n",
  "\r",
  "\t",
  " ",
  ":",
  ";",
  "=",
  "\\",
  '"',
  "'",
  "$",
  "`",
  "\x1b",
  "\x7f",
  "\x01",
  "\u00e9",
  "\u2028",
  "\ud83d\udca3",
  "%",
  "{",
  "}",
];

/** A random hostile string of up to `max` pieces. */
function randomString(rand: () => number, max = 24): string {
  const n = Math.floor(rand() * max);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  return s;
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/** The fixed hostile strings, `n` random ones, and the 1 MB ones. */
function hostileStrings(rand: () => number, n: number): string[] {
  const out = [...FIXED_STRINGS];
  for (let i = 0; i < n; i++) out.push(randomString(rand));
  out.push("a".repeat(MB), "../".repeat(MB / 3), `x${"\n".repeat(MB)}`);
  return out;
}

// ---- Oracles, from the spec and the README ----

/** The spec's container ID rule, and the README's 200-character cap (a file name part). */
function containerIdOk(v: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/.test(v) && v.length <= 200;
}

/** What the kernel and libcni refuse in an interface name, and control characters. */
// deno-lint-ignore no-control-regex
const IFNAME_BAD = /[\/:\s\x00-\x1f\x7f]/;

/**
 * The kernel's dev_valid_name() and libcni's ValidateInterfaceName(), and no control characters
 * (the plugin's own rule: the name is part of a cache file name).
 */
function ifnameOk(v: string): boolean {
  return v !== "" && encoder.encode(v).length <= 15 && v !== "." && v !== ".." &&
    !IFNAME_BAD.test(v);
}

/** CNI_ARGS keys the README lists as known (the ones Multus and the kubelet pass). */
const KNOWN_ARGS = new Set([
  "IgnoreUnknown",
  "K8S_POD_NAMESPACE",
  "K8S_POD_NAME",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
]);

/** libcni's CNI_ARGS rule: `K=V` pairs; unknown keys only with IgnoreUnknown (last one wins). */
function cniArgsOk(v: string): boolean {
  if (v === "") return true;
  const pairs = v.split(";");
  if (pairs.some((p) => p.indexOf("=") <= 0)) return false;
  const last = new Map(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
  const ignore = ["1", "true"].includes((last.get("IgnoreUnknown") ?? "").toLowerCase());
  return ignore || [...last.keys()].every((k) => KNOWN_ARGS.has(k));
}

/** The log directory of the README: every `logFile` lies beneath it. */
const LOG_DIR = "/var/log/ib-sriov/";
/** The device-info directory of the README: a device-info path is a file name directly in it. */
const DEVICE_INFO_DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";

/** Linux's PATH_MAX less its NUL, and NAME_MAX. */
function lengthsOk(v: string, names: readonly string[]): boolean {
  return encoder.encode(v).length <= 4095 && names.every((n) => encoder.encode(n).length <= 255);
}

/**
 * The README's `logFile` rule for a file the plugin opens: beneath the log directory, absolute
 * or relative to it, no empty, `.` or `..` segment. Any other `logFile` is ignored, never refused.
 */
function logFileOk(v: string): boolean {
  const rest = v.startsWith(LOG_DIR) ? v.slice(LOG_DIR.length) : v.startsWith("/") ? "" : v;
  if (rest === "" || v.includes("\0")) return false;
  const names = rest.split("/");
  return names.every((n) => n !== "" && n !== "." && n !== "..") &&
    lengthsOk(LOG_DIR + rest, names);
}

/** The README's device-info rule: one file name directly in the device-info directory. */
function deviceInfoPathOk(v: string): boolean {
  const name = v.slice(DEVICE_INFO_DIR.length);
  return v.startsWith(DEVICE_INFO_DIR) && name !== "" && name !== "." && name !== ".." &&
    !/[\/\0]/.test(name) && lengthsOk(v, [name]);
}

// ---- Config fields ----

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Kind = "string" | "boolean" | "object" | "array" | "free";

interface Field {
  /** Path from the config root. */
  path: readonly string[];
  kind: Kind;
  /** For string fields: whether a value is acceptable (`undefined`: any string is). */
  ok?: (v: string) => boolean;
  /** Codes of a refusal of this field. */
  codes: readonly number[];
}

/** An IPAM plugin is a file name in CNI_PATH, never a path; dhcp is refused (README). */
const IPAM_TYPE_OK = (v: string) =>
  v !== "" && v !== "dhcp" && v !== "." && v !== ".." && !/[\/\0]/.test(v);
/** A GUID, or empty: unset, as the Go plugin reads it (as an empty pkey or link_state). */
const GUID = /^(([0-9a-fA-F]{2}:){7}[0-9a-fA-F]{2})?$/;

/** Every field the plugin reads, with its type and format from the README. */
const FIELDS: readonly Field[] = [
  {
    path: ["name"],
    kind: "string",
    ok: (v) => /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/.test(v),
    codes: [7],
  },
  // An empty cniVersion is the spec's 0.1.0: ADD and DEL accept it, the rest refuse it (code 1).
  { path: ["cniVersion"], kind: "string", ok: (v) => v === "1.1.0" || v === "", codes: [1, 6] },
  { path: ["cniVersions"], kind: "array", codes: [1, 6] },
  { path: ["type"], kind: "string", codes: [7] },
  {
    path: ["deviceID"],
    kind: "string",
    ok: (v) => /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/.test(v),
    codes: [7],
  },
  { path: ["guid"], kind: "string", ok: (v) => GUID.test(v), codes: [7] },
  { path: ["pkey"], kind: "string", ok: (v) => /^(0x[0-9a-fA-F]{1,4})?$/.test(v), codes: [7] },
  {
    path: ["link_state"],
    kind: "string",
    ok: (v) => ["", "auto", "enable", "disable"].includes(v),
    codes: [7],
  },
  { path: ["rdmaIsolation"], kind: "boolean", codes: [7] },
  { path: ["ibKubernetesEnabled"], kind: "boolean", codes: [7] },
  { path: ["vfioPciMode"], kind: "boolean", codes: [7] },
  { path: ["ipam"], kind: "object", codes: [7] },
  { path: ["ipam", "type"], kind: "string", ok: IPAM_TYPE_OK, codes: [7] },
  { path: ["ipam", "x-hostile"], kind: "free", codes: [] },
  { path: ["dns"], kind: "object", codes: [7] },
  { path: ["capabilities"], kind: "object", codes: [7] },
  { path: ["capabilities", "infinibandGUID"], kind: "boolean", codes: [7] },
  { path: ["runtimeConfig"], kind: "object", codes: [7] },
  {
    path: ["runtimeConfig", "infinibandGUID"],
    kind: "string",
    ok: (v) => GUID.test(v),
    codes: [7],
  },
  { path: ["args"], kind: "object", codes: [7] },
  { path: ["args", "cni"], kind: "object", codes: [7] },
  { path: ["args", "cni", "guid"], kind: "string", ok: (v) => GUID.test(v), codes: [7] },
  { path: ["args", "cni", "mellanox.infiniband.app"], kind: "string", codes: [7] },
  { path: ["args", "cni", "x-hostile"], kind: "free", codes: [] },
  { path: ["prevResult"], kind: "object", codes: [7] },
  // Logging never fails a command: a logging field the rules do not accept is ignored.
  { path: ["logLevel"], kind: "free", codes: [] },
  { path: ["logFile"], kind: "free", codes: [] },
  { path: ["cni.dev/valid-attachments"], kind: "free", codes: [] },
  { path: ["x-hostile"], kind: "free", codes: [] },
];

/** One value of each JSON type. */
const TYPED_VALUES: readonly [Kind, Json][] = [
  ["free", null],
  ["boolean", true],
  ["boolean", false],
  ["free", 0],
  ["free", -1],
  ["free", 1.5],
  ["free", 1e308],
  ["string", "x"],
  ["array", []],
  ["array", ["a", 1]],
  ["object", {}],
  ["object", { a: 1 }],
];

function kindOf(v: Json): Kind {
  if (v === null || typeof v === "number") return "free";
  if (Array.isArray(v)) return "array";
  return typeof v as Kind;
}

function encode(config: Record<string, unknown>): Uint8Array {
  return encoder.encode(JSON.stringify(config));
}

function withField(base: Record<string, unknown>, path: readonly string[], value: unknown) {
  const out = structuredClone(base) as Record<string, unknown>;
  let obj = out;
  for (const key of path.slice(0, -1)) {
    const next = obj[key];
    obj[key] = typeof next === "object" && next !== null && !Array.isArray(next) ? next : {};
    obj = obj[key] as Record<string, unknown>;
  }
  obj[path.at(-1)!] = value;
  return out;
}

/**
 * Whether a value of the right type is acceptable in `field` beyond its own format: a parent
 * object created by the mutation must itself be valid (an `ipam` with keys needs a `type`;
 * `"ipam": {}` means no IPAM).
 */
function valueVerdict(field: Field, value: Json): "refuse" | "either" {
  if (field.kind === "free") return "either";
  const kind = kindOf(value);
  if (field.kind !== kind) return "refuse";
  if (kind === "string" && field.ok !== undefined && !field.ok(value as string)) return "refuse";
  if (field.path.join(".") === "ipam") {
    const t = (value as Record<string, unknown>)["type"];
    if (Object.keys(value as Record<string, unknown>).length === 0) return "either";
    return typeof t === "string" && IPAM_TYPE_OK(t) ? "either" : "refuse";
  }
  if (field.path.join(".") === "capabilities") {
    return Object.values(value as Record<string, unknown>).every((v) => typeof v === "boolean")
      ? "either"
      : "refuse";
  }
  if (field.path.join(".") === "cniVersions") {
    // With cniVersion present, cniVersions only has to be a list of strings.
    return (value as unknown[]).every((v) => typeof v === "string") ? "either" : "refuse";
  }
  return "either";
}

// ---- The corpus ----

class Builder {
  readonly cases: HostileCase[] = [];
  readonly #counts = new Map<Category, number>();

  add(c: Omit<HostileCase, "id">): void {
    const n = this.#counts.get(c.category) ?? 0;
    this.#counts.set(c.category, n + 1);
    this.cases.push({ id: `${c.category}/${n}`, ...c });
  }
}

/** Shows a value in a case description: escaped and cut. */
function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}… (${s.length} chars)` : s;
}

const NONE: Refusal = { commands: [], codes: [] };

function envCases(b: Builder, base: CorpusBase, strings: readonly string[]): void {
  for (const v of strings) {
    const nul = v.includes("\0");
    // CNI_CONTAINERID: validated for every command when set; required by ADD, DEL, CHECK.
    b.add({
      category: "env-containerid",
      what: `CNI_CONTAINERID=${show(v)}`,
      env: { CNI_CONTAINERID: v },
      stdin: null,
      refuse: v === ""
        ? { commands: WITH_IFNAME, codes: [4] }
        : containerIdOk(v)
        ? NONE
        : { commands: COMMANDS, codes: [4] },
      early: true,
    });
    // CNI_IFNAME: validated for the commands that use it.
    b.add({
      category: "env-ifname",
      what: `CNI_IFNAME=${show(v)}`,
      env: { CNI_IFNAME: v },
      stdin: null,
      refuse: nul
        ? { commands: COMMANDS, codes: [4] }
        : ifnameOk(v)
        ? NONE
        : { commands: WITH_IFNAME, codes: [4] },
      early: true,
    });
    // CNI_NETNS: ADD and CHECK must open it; only the base pod's path is a netns.
    b.add({
      category: "env-netns",
      what: `CNI_NETNS=${show(v)}`,
      env: { CNI_NETNS: v },
      stdin: null,
      refuse: nul
        ? { commands: COMMANDS, codes: [4] }
        : v === base.env.CNI_NETNS
        ? NONE
        : { commands: ["ADD", "CHECK"], codes: v === "" ? [4] : [3, 4, 8] },
      // CHECK reads the state directory before it opens the netns.
      early: nul || v === "",
    });
    // CNI_PATH: required (not by VERSION), otherwise only passed on to IPAM.
    b.add({
      category: "env-path",
      what: `CNI_PATH=${show(v)}`,
      env: { CNI_PATH: v },
      stdin: null,
      refuse: nul
        ? { commands: COMMANDS, codes: [4] }
        : v === ""
        ? { commands: ALL_BUT_VERSION, codes: [4] }
        : NONE,
      early: true,
    });
    // CNI_ARGS, the hostile string as a value, as a key, and raw.
    for (const args of [`IgnoreUnknown=1;K8S_POD_NAME=${v}`, `K8S_POD_NAME=${v}`, `${v}=1`, v]) {
      const ok = cniArgsOk(args);
      b.add({
        category: "env-args",
        what: `CNI_ARGS=${show(args)}`,
        env: { CNI_ARGS: args },
        stdin: null,
        refuse: args.includes("\0")
          ? { commands: COMMANDS, codes: [4] }
          : ok
          ? NONE
          : { commands: COMMANDS, codes: [2, 4] },
        early: true,
      });
    }
    // CNI_COMMAND: anything but the six commands (or empty: the about line) is refused.
    b.add({
      category: "env-command",
      what: `CNI_COMMAND=${show(v)}`,
      env: { CNI_COMMAND: v },
      stdin: null,
      only: ["ADD"],
      refuse: v === "" ? NONE : { commands: ["ADD"], codes: [4] },
      early: true,
    });
  }
  // NUL in every variable, also the ones the plugin reads but no command requires.
  for (
    const name of [
      "CNI_COMMAND",
      "CNI_CONTAINERID",
      "CNI_NETNS",
      "CNI_IFNAME",
      "CNI_ARGS",
      "CNI_PATH",
      "CNI_NETNS_OVERRIDE",
    ]
  ) {
    for (const v of ["\0", "a\0", "\0a", "net1\0../../x", "/var/run/netns/x\0/../../etc"]) {
      b.add({
        category: "env-nul",
        what: `${name}=${show(v)}`,
        env: { [name]: v },
        stdin: null,
        refuse: { commands: COMMANDS, codes: [4] },
        early: true,
      });
    }
  }
}

function stdinCase(
  b: Builder,
  category: Category,
  what: string,
  stdin: Uint8Array,
  verdict: "refuse" | "either",
  codes: readonly number[],
  commands: readonly Command[] = NEEDS_NAME,
): void {
  b.add({
    category,
    what,
    env: {},
    stdin,
    refuse: verdict === "refuse" ? { commands, codes } : NONE,
    early: verdict === "refuse",
  });
}

function jsonCases(b: Builder, base: CorpusBase, rand: () => number, opts: CorpusOptions): void {
  const good = JSON.stringify(base.config);
  const malformed: (string | Uint8Array)[] = [
    "",
    " \n\t",
    "null",
    "[]",
    "1",
    '"ib-net"',
    "true",
    "{",
    "}",
    '{"name":}',
    good.slice(0, -1),
    `${good}x`,
    `${good}{}`,
    good.replace("{", "{,"),
    good.replace(/}$/, ",}"),
    `// comment\n${good}`,
    good.replaceAll('"', "'"),
    good.replace('"ib-sriov"', "NaN"),
    good.replace('"ib-sriov"', "Infinity"),
    good.replace('"ib-sriov"', '"\\x41"'),
    good.replace('"ib-sriov"', '"a\nb"'),
    good.replace('"ib-sriov"', '"\\ud800\\udc00\\u"'),
    new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
    new Uint8Array([
      ...encoder.encode(good.slice(0, 10)),
      0xc0,
      0xaf,
      ...encoder.encode(good.slice(10)),
    ]),
    new Uint8Array([
      ...encoder.encode(good.slice(0, 10)),
      0xed,
      0xa0,
      0x80,
      ...encoder.encode(good.slice(10)),
    ]),
    new Uint8Array([...encoder.encode(good.slice(0, 10)), 0x80, ...encoder.encode(good.slice(10))]),
    new Uint8Array([...encoder.encode(good), 0x00]),
    new Uint8Array([0x00, ...encoder.encode(good)]),
  ];
  for (let i = 0; i < opts.random; i++) {
    malformed.push(good.slice(0, Math.floor(rand() * good.length)));
  }
  for (const m of malformed) {
    const bytes = typeof m === "string" ? encoder.encode(m) : m;
    stdinCase(
      b,
      "json-malformed",
      `stdin ${show(typeof m === "string" ? m : [...m])}`,
      bytes,
      "refuse",
      [6],
    );
  }
  // RFC 8259 lets a parser ignore a byte order mark.
  stdinCase(b, "json-malformed", "UTF-8 BOM first", encoder.encode(`\ufeff${good}`), "either", []);
  stdinCase(b, "json-malformed", "stdin {} (no name)", encoder.encode("{}"), "refuse", [7]);
  // Duplicate keys are JSON: the last one wins for every reader, so it is just another config.
  stdinCase(
    b,
    "json-malformed",
    "duplicate deviceID, the last one a path",
    encoder.encode(
      good.replace("{", '{"deviceID":"0000:3b:00.1",').replace(/}$/, ',"deviceID":"../../x"}'),
    ),
    "refuse",
    [7],
    STRICT,
  );

  // Depth: the README's limit is 128 levels, the config being level 1.
  for (const depth of [126, 127, 128, 129, 1000, 100_000]) {
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    stdinCase(
      b,
      "json-depth",
      `x-hostile nested ${depth} deep`,
      encoder.encode(good.replace(/}$/, `,"x-hostile":${nested}}`)),
      depth + 1 <= 128 ? "either" : "refuse",
      [6],
    );
  }
  stdinCase(
    b,
    "json-depth",
    "100000 bare brackets",
    encoder.encode("[".repeat(100_000)),
    "refuse",
    [6],
  );

  // Size: exactly the limit is read, one byte more is refused.
  const padded = (total: number, where: "field" | "space") => {
    const head = good.replace(/}$/, ',"x-hostile":"');
    if (where === "space") return encoder.encode(good + " ".repeat(total - good.length));
    return encoder.encode(head + "a".repeat(total - head.length - 2) + '"}');
  };
  stdinCase(
    b,
    "json-size",
    "4 MiB exactly, padded in a field",
    padded(STDIN_LIMIT, "field"),
    "either",
    [],
  );
  stdinCase(
    b,
    "json-size",
    "4 MiB exactly, trailing spaces",
    padded(STDIN_LIMIT, "space"),
    "either",
    [],
  );
  stdinCase(
    b,
    "json-size",
    "4 MiB + 1, padded in a field",
    padded(STDIN_LIMIT + 1, "field"),
    "refuse",
    [5],
    ALL_BUT_VERSION,
  );
  stdinCase(
    b,
    "json-size",
    "4 MiB + 1, trailing spaces",
    padded(STDIN_LIMIT + 1, "space"),
    "refuse",
    [5],
    ALL_BUT_VERSION,
  );
  if (opts.huge) {
    stdinCase(
      b,
      "json-size",
      "16 MiB of '{'",
      new Uint8Array(16 * MB).fill(0x7b),
      "refuse",
      [5],
      ALL_BUT_VERSION,
    );
    stdinCase(
      b,
      "json-size",
      "8 MiB, padded in a field",
      padded(8 * MB, "field"),
      "refuse",
      [5],
      ALL_BUT_VERSION,
    );
    stdinCase(
      b,
      "json-size",
      "5 MiB of NUL bytes",
      new Uint8Array(5 * MB),
      "refuse",
      [5],
      ALL_BUT_VERSION,
    );
  }
}

function configCases(
  b: Builder,
  base: CorpusBase,
  strings: readonly string[],
  rand: () => number,
  opts: CorpusOptions,
): void {
  for (const field of FIELDS) {
    const name = field.path.join(".");
    const refusers = name === "name"
      ? NEEDS_NAME
      : name.startsWith("cniVersion")
      ? ALL_BUT_VERSION
      : STRICT;
    // Wrong types (and right ones, for the free fields).
    for (const [, value] of TYPED_VALUES) {
      const verdict = valueVerdict(field, value);
      stdinCase(
        b,
        "config-type",
        `${name}: ${show(value)}`,
        encode(withField(base.config, field.path, value)),
        verdict,
        field.codes,
        refusers,
      );
    }
    // Hostile strings where a string goes (and in every other field, as a wrong type).
    // A logFile the rule accepts is a file the plugin may write: never one a test names.
    const usable = name === "logFile" ? strings.filter((s) => !logFileOk(s)) : strings;
    const picks = field.kind === "string" || field.kind === "free"
      ? usable.filter((s) => s.length < MB)
      : [pick(rand, usable), pick(rand, usable)];
    for (const s of picks) {
      const verdict = valueVerdict(field, s);
      stdinCase(
        b,
        "config-string",
        `${name}: ${show(s)}`,
        encode(withField(base.config, field.path, s)),
        verdict,
        field.codes,
        refusers,
      );
    }
    // 1 MB strings.
    const big = pick(rand, usable.filter((s) => s.length >= MB));
    stdinCase(
      b,
      "config-huge",
      `${name}: ${show(big)}`,
      encode(withField(base.config, field.path, big)),
      valueVerdict(field, big),
      field.codes,
      refusers,
    );
  }
  // Huge `args`: many keys, big values, a big array.
  const manyKeys: Record<string, string> = {};
  for (let i = 0; i < 20_000; i++) manyKeys[`k${i}/../${i}`] = `v${i}\n`;
  stdinCase(
    b,
    "config-huge",
    "args.cni with 20000 keys",
    encode(withField(base.config, ["args", "cni"], manyKeys)),
    "either",
    [],
  );
  stdinCase(
    b,
    "config-huge",
    "args with 3 MB of values",
    encode(withField(base.config, ["args", "x-hostile"], Array(3).fill("../".repeat(MB / 3)))),
    "either",
    [],
  );
  // 2,000, not 20,000: the validator's duplicate-key check of capabilities is quadratic.
  const someKeys = Object.fromEntries(Object.entries(manyKeys).slice(0, 2000));
  stdinCase(
    b,
    "config-huge",
    "capabilities with 2000 non-boolean keys",
    encode(withField(base.config, ["capabilities"], someKeys)),
    "refuse",
    [7],
    STRICT,
  );
  stdinCase(
    b,
    "config-huge",
    "cni.dev/valid-attachments with 50000 entries",
    encode(
      withField(
        base.config,
        ["cni.dev/valid-attachments"],
        Array.from({ length: 50_000 }, (_, i) => ({ containerID: `../${i}`, ifname: "\0" })),
      ),
    ),
    "either",
    [],
  );
  void opts;
}

function randomByteCases(b: Builder, base: CorpusBase, rand: () => number, n: number): void {
  const good = encoder.encode(JSON.stringify(base.config));
  for (let i = 0; i < n; i++) {
    const bytes = [...good];
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * bytes.length);
      const op = Math.floor(rand() * 3);
      const byte = rand() < 0.5
        ? pick(rand, [0x00, 0x0a, 0x22, 0x2f, 0x2e, 0x5c, 0x7b, 0x7d, 0xff, 0xc3])
        : Math.floor(rand() * 256);
      if (op === 0) bytes[at] = byte;
      else if (op === 1) bytes.splice(at, 0, byte);
      else bytes.splice(at, 1);
    }
    // A flip may still give a valid config (another PCI address, say): either answer is fine.
    stdinCase(
      b,
      "random-bytes",
      `byte edits of the base config #${i}`,
      new Uint8Array(bytes),
      "either",
      [],
    );
  }
}

/**
 * Paths that name what a root process must never be made to write or enter: `/proc/self/…`,
 * `/sys/…`, `/dev/…`, files of `/etc` that a shell or the loader reads, `..` out of the allowed
 * directories, empty and `.` segments, names over NAME_MAX and paths over PATH_MAX. The
 * filesystem cases (a symbolic link at each component, FIFOs, directories, device nodes) need a
 * prepared tree: tests/e2e/hostile_paths_test.ts runs them.
 */
const PATH_STRINGS: readonly string[] = [
  "/proc/self/fd/1",
  "/proc/self/root/etc/ld.so.preload",
  "/proc/1/ns/net",
  "/proc/self/ns/net",
  "/sys/class/net",
  "/sys/bus/pci/drivers_probe",
  "/dev/null",
  "/dev/stdout",
  "/dev/sda",
  "/etc/ld.so.preload",
  "/etc/sudoers.d/ib-sriov",
  "/etc/profile.d/ib-sriov.sh",
  `${LOG_DIR}../../../etc/sudoers.d/x`,
  `${LOG_DIR}x/../../../../etc/ld.so.preload`,
  `${LOG_DIR}./x.log`,
  `${LOG_DIR}/x.log`,
  LOG_DIR,
  LOG_DIR.slice(0, -1),
  `${LOG_DIR.slice(0, -1)}-x/a.log`,
  `${LOG_DIR}${"a".repeat(256)}`,
  `${LOG_DIR}${"d/".repeat(2100)}x`,
  `${DEVICE_INFO_DIR}../../../../etc/ld.so.preload`,
  `${DEVICE_INFO_DIR}sub/x`,
  DEVICE_INFO_DIR,
  `${DEVICE_INFO_DIR}${"a".repeat(256)}`,
  "/var/run/netns/../../../etc/passwd",
  `/${"n/".repeat(2100)}x`,
  "..",
  "../../../etc/passwd",
];

/** {@link PATH_STRINGS} as `logFile`, the device-info path and `CNI_NETNS`. */
function pathCases(b: Builder, base: CorpusBase): void {
  for (const v of PATH_STRINGS) {
    // ADD writes the device-info file: it must refuse what the rules refuse (the other commands
    // may go on without it). A log file is never a reason to refuse: records go to stderr.
    b.add({
      category: "path",
      what: `logFile: ${show(v)}`,
      env: {},
      stdin: encode(withField(base.config, ["logFile"], v)),
      only: ["ADD", "DEL", "CHECK"],
      refuse: NONE,
      early: false,
    });
    const info = withField(
      withField(base.config, ["capabilities"], { CNIDeviceInfoFile: true }),
      ["runtimeConfig"],
      { CNIDeviceInfoFile: v },
    );
    b.add({
      category: "path",
      what: `runtimeConfig.CNIDeviceInfoFile: ${show(v)}`,
      env: {},
      stdin: encode(info),
      only: ["ADD", "DEL", "CHECK"],
      refuse: deviceInfoPathOk(v) ? NONE : { commands: ["ADD"], codes: [7] },
      early: !deviceInfoPathOk(v),
    });
    b.add({
      category: "path",
      what: `CNI_NETNS=${show(v)}`,
      env: { CNI_NETNS: v },
      stdin: null,
      only: ["ADD", "DEL", "CHECK"],
      refuse: { commands: ["ADD", "CHECK"], codes: [3, 4, 8] },
      early: false,
    });
  }
}

/**
 * Builds the corpus.
 *
 * @param base the invocation to mutate
 * @param opts seed, random cases per category, and whether to include multi-MiB stdin
 * @returns the cases, in a stable order
 */
export function buildCorpus(base: CorpusBase, opts: CorpusOptions): HostileCase[] {
  const rand = prng(opts.seed);
  const b = new Builder();
  const strings = hostileStrings(rand, opts.random);
  envCases(b, base, strings);
  jsonCases(b, base, rand, opts);
  configCases(b, base, strings, rand, opts);
  randomByteCases(b, base, rand, opts.random * 4);
  pathCases(b, base);
  return b.cases;
}

/**
 * How many cases each category has.
 *
 * @param cases the corpus
 * @returns the count per category
 */
export function countByCategory(cases: readonly HostileCase[]): Record<Category, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const c of cases) out[c.category]++;
  return out;
}
