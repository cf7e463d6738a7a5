// The ib-sriov config validator, in AssemblyScript. Built by `deno task build:wasm` into
// lib/config/validator.wasm, which is committed; lib/config/validate_config.ts is the host side.
//
// The module has no WebAssembly imports and allocates nothing: the input, the output records and
// the scratch buffers live in linear memory at addresses computed from __heap_base, and memory
// grows on demand. docs/validator.md's "ABI" section documents the exports, the memory layout and
// the rule codes; keep it in step with the constants below. The limits and directories the rules
// name come from ../limits.ts, which the plugin imports too.
//
// This module decides which rules a config breaks: the plugin (lib/cni/dispatch.ts) and the
// operator's tool run it and only decode what it accepted. lib/config/validate_config.ts words
// each violation (docs/validator.md says what lives where). tests/unit/config/rule_table_test.ts
// lists every rule with its code, path and message.

import {
  DEVICE_INFO_DIR,
  LOG_DIR,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  PLUGIN_TYPE,
} from "../limits";

/** Largest input, in bytes. */
const MAX_INPUT: u32 = <u32>MAX_CONFIG_BYTES;
const MAX_DEPTH: u32 = <u32>MAX_CONFIG_DEPTH;
/** At most this many records are written; validate() still returns the full count. */
const MAX_RECORDS: u32 = 64;

/** validate() flag: `deviceID` is required (ADD and CHECK). */
const FLAG_REQUIRE_DEVICE_ID: u32 = 1;
/** validate() flag: the input is one plugin's config (what a runtime passes on stdin), never a conflist. */
const FLAG_PLUGIN_CONFIG: u32 = 2;

// Rule codes, in the order the plugin checks them: the lowest code among the violations is the
// one the plugin reports first.
const RULE_UTF8: u32 = 1;
const RULE_SYNTAX: u32 = 2;
const RULE_SIZE: u32 = 3;
const RULE_DEPTH: u32 = 4;
const RULE_NOT_OBJECT: u32 = 5;
const RULE_NAME: u32 = 6;
const RULE_VERSION_TYPE: u32 = 7;
const RULE_VERSION: u32 = 8;
const RULE_PLUGINS: u32 = 9;
const RULE_TYPE: u32 = 10;
const RULE_DEVICE_ID: u32 = 11;
const RULE_DEVICE_ID_REQUIRED: u32 = 12;
const RULE_GUID: u32 = 13;
const RULE_PKEY: u32 = 14;
const RULE_LINK_STATE: u32 = 15;
const RULE_BOOLEAN: u32 = 16;
const RULE_OBJECT: u32 = 17;
const RULE_IPAM_TYPE: u32 = 18;
const RULE_IPAM_DHCP: u32 = 19;
const RULE_VFIO_RDMA: u32 = 20;
const RULE_CAPABILITIES: u32 = 21;
const RULE_STRING: u32 = 22;
const RULE_LOG_LEVEL: u32 = 23;
const RULE_LOG_FILE: u32 = 24;
const RULE_DEVICE_INFO_FILE: u32 = 25;

// Byte values.
const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const COLON: u32 = 0x3a;
const LBRACE: u32 = 0x7b;
const RBRACE: u32 = 0x7d;
const LBRACKET: u32 = 0x5b;
const RBRACKET: u32 = 0x5d;

// Keys of the objects the rules look into. A plugin config (top level or a conflist entry):
const K_CNI_VERSION = 0;
const K_CNI_VERSIONS = 1;
const K_NAME = 2;
const K_TYPE = 3;
const K_DEVICE_ID = 4;
const K_GUID = 5;
const K_PKEY = 6;
const K_LINK_STATE = 7;
const K_RDMA_ISOLATION = 8;
const K_IB_KUBERNETES = 9;
const K_VFIO = 10;
const K_IPAM = 11;
const K_DNS = 12;
const K_CAPABILITIES = 13;
const K_RUNTIME_CONFIG = 14;
const K_ARGS = 15;
const K_PREV_RESULT = 16;
const K_LOG_LEVEL = 17;
const K_LOG_FILE = 18;
const K_PLUGINS = 19;
// ipam, runtimeConfig, args, args.cni:
const K_IPAM_TYPE = 20;
const K_INFINIBAND_GUID = 21;
const K_DEVICE_INFO_FILE = 22;
const K_ARGS_CNI = 23;
const K_CNI_GUID = 24;
const K_CNI_APP = 25;
const SLOTS = 26;

/** Which object scanObject() is reading: decides the keys it records. */
const OBJ_CONFIG = 0;
const OBJ_IPAM = 1;
const OBJ_RUNTIME_CONFIG = 2;
const OBJ_ARGS = 3;
const OBJ_ARGS_CNI = 4;

/** Decoded keys longer than this match no known key. */
const KEY_CAP: u32 = 32;
/** Decoded string values keep this many units for the fixed-form checks. */
const STR_CAP: u32 = 64;
/** Room for a path prefix such as `plugins[4294967295]`. */
const PREFIX_CAP: u32 = 64;
/**
 * Most bytes one record takes besides the key it may name: header 16, prefix, `.`, the longest
 * field (`args.cni["mellanox.infiniband.app"]`, 35), `[""]` around a key, padding.
 */
const RECORD_ROOM: u32 = 128;

// Static scratch memory.
const stack = memory.data(MAX_DEPTH);
const slotStart = memory.data(SLOTS * 4, 4);
const slotEnd = memory.data(SLOTS * 4, 4);
const keyBuf = memory.data(KEY_CAP * 4, 4);
const strBuf = memory.data(STR_CAP * 4, 4);
const prefixBuf = memory.data(PREFIX_CAP);

// Per-call state.
let inBase: usize = 0;
let inEnd: usize = 0;
let outBase: usize = 0;
let outPos: usize = 0;
let total: u32 = 0;
let flags: u32 = 0;
let prefixLen: u32 = 0;
let keyLen: u32 = 0;
let strLen: u32 = 0;
let strNameChars: bool = false;
let strHasNul: bool = false;
let strHasSlash: bool = false;
let itPos: usize = 0;
let itEnd: usize = 0;

// ---------------------------------------------------------------------------------------------
// Exports

/**
 * Makes room for `length` input bytes and returns their address, or 0 when `length` is more
 * than the 4 MiB limit (write nothing then; validate() reports rule 3).
 */
export function inputBuffer(length: u32): usize {
  const base = inputAddress();
  if (length > MAX_INPUT || !ensure(base + length)) return 0;
  return base;
}

/**
 * Validates the `length` bytes at inputBuffer() and writes one record per violation.
 * Returns the number of violations; at most 64 of them are written as records.
 */
export function validate(length: u32, flagBits: u32): u32 {
  inBase = inputAddress();
  flags = flagBits;
  total = 0;
  prefixLen = 0;
  const fits = length <= MAX_INPUT && ensure(inBase + length);
  outBase = fits ? align4(inBase + length) : inBase;
  outPos = outBase;
  if (!fits) {
    inEnd = inBase;
    emit(RULE_SIZE, inBase + MAX_INPUT, inBase + MAX_INPUT, "");
    return total;
  }
  inEnd = inBase + length;
  const badByte = utf8Error();
  if (badByte != 0) {
    emit(RULE_UTF8, badByte, badByte, "");
    return total;
  }
  // TextDecoder drops one leading byte order mark, so JSON.parse never sees it.
  let start = inBase;
  if (
    length >= 3 && load<u8>(start) == 0xef && load<u8>(start + 1) == 0xbb &&
    load<u8>(start + 2) == 0xbf
  ) {
    start += 3;
  }
  if (!syntaxOk(start)) return total;
  checkDocument(ws(start));
  return total;
}

/** Address of the first record written by the last validate(). */
export function outputBuffer(): usize {
  return outBase;
}

/** Bytes of records written by the last validate(). */
export function outputLength(): u32 {
  return <u32>(outPos - outBase);
}

// ---------------------------------------------------------------------------------------------
// Memory

function inputAddress(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

function align4(addr: usize): usize {
  return (addr + 3) & ~(<usize>3);
}

/**
 * Where checkCapabilities() keeps its arrays: past the most the records of this call can take,
 * so that reporting never overwrites them. A record takes at most RECORD_ROOM bytes besides a key
 * it names, no longer than the key's JSON text; the keys named are members' keys, disjoint spans
 * of the input.
 */
function scratchAddress(): usize {
  return (outBase + (inEnd - inBase) + MAX_RECORDS * RECORD_ROOM + 15) & ~(<usize>15);
}

/** Grows memory so that addresses below `end` exist; false when it cannot. */
function ensure(end: usize): bool {
  const have = (<usize>memory.size()) << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >>> 16);
  return memory.grow(pages) >= 0;
}

/** The byte at `p`, or 0 past the end (0 is valid nowhere in JSON outside a string). */
@inline
function at(p: usize): u32 {
  return p < inEnd ? <u32>load<u8>(p) : 0;
}

// ---------------------------------------------------------------------------------------------
// Pass 1: UTF-8, as TextDecoder's fatal mode checks it

/** Address of the first byte of an invalid UTF-8 sequence, or 0. */
function utf8Error(): usize {
  let p = inBase;
  while (p < inEnd) {
    if (p + 8 <= inEnd && (load<u64>(p) & 0x8080808080808080) == 0) {
      p += 8;
      continue;
    }
    const b = <u32>load<u8>(p);
    if (b < 0x80) {
      p++;
      continue;
    }
    let need: u32 = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b == 0xe0) lo = 0xa0; // overlong
      if (b == 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b == 0xf0) lo = 0x90; // overlong
      if (b == 0xf4) hi = 0x8f; // above U+10FFFF
    } else {
      return p;
    }
    if (p + need >= inEnd) return p;
    const b1 = <u32>load<u8>(p + 1);
    if (b1 < lo || b1 > hi) return p;
    for (let i: u32 = 2; i <= need; i++) {
      const c = <u32>load<u8>(p + i);
      if (c < 0x80 || c > 0xbf) return p;
    }
    p += need + 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Pass 2: JSON syntax (RFC 8259, as JSON.parse reads it), without recursion

@inline
function isWs(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

function ws(p: usize): usize {
  while (p < inEnd && isWs(<u32>load<u8>(p))) p++;
  return p;
}

@inline
function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

@inline
function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Where a syntax error was found by the scanners below (0: none). */
let syntaxAt: usize = 0;

/** Scans the string whose opening quote is at `p`; returns the address after it, or 0. */
function scanString(p: usize): usize {
  p++;
  while (true) {
    const c = at(p);
    if (c == QUOTE) return p + 1;
    if (c < 0x20) {
      syntaxAt = p;
      return 0;
    }
    if (c == BACKSLASH) {
      const e = at(p + 1);
      if (e == 0x75) {
        for (let i: usize = 2; i < 6; i++) {
          if (hexValue(at(p + i)) < 0) {
            syntaxAt = p + i;
            return 0;
          }
        }
        p += 6;
      } else if (
        e == QUOTE || e == BACKSLASH || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e ||
        e == 0x72 || e == 0x74
      ) {
        p += 2;
      } else {
        syntaxAt = p + 1;
        return 0;
      }
    } else {
      p++;
    }
  }
}

/** Scans the number starting at `p`; returns the address after it, or 0. */
function scanNumber(p: usize): usize {
  if (at(p) == 0x2d) p++;
  if (at(p) == 0x30) {
    p++;
  } else if (isDigit(at(p))) {
    while (isDigit(at(p))) p++;
  } else {
    syntaxAt = p;
    return 0;
  }
  if (at(p) == 0x2e) {
    p++;
    if (!isDigit(at(p))) {
      syntaxAt = p;
      return 0;
    }
    while (isDigit(at(p))) p++;
  }
  if ((at(p) | 0x20) == 0x65) {
    p++;
    if (at(p) == 0x2b || at(p) == 0x2d) p++;
    if (!isDigit(at(p))) {
      syntaxAt = p;
      return 0;
    }
    while (isDigit(at(p))) p++;
  }
  return p;
}

/** Scans `true`, `false` or `null` at `p`; returns the address after it, or 0. */
function scanLiteral(p: usize, word: string): usize {
  for (let i = 0; i < word.length; i++) {
    if (at(p + i) != <u32>word.charCodeAt(i)) {
      syntaxAt = p + i;
      return 0;
    }
  }
  return p + word.length;
}

const EXPECT_VALUE = 0;
const EXPECT_KEY = 1;
const AFTER_VALUE = 2;

/** Checks that the input from `start` is one JSON value and nothing else; emits the violation. */
function syntaxOk(start: usize): bool {
  let p = ws(start);
  let depth: u32 = 0;
  let state = EXPECT_VALUE;
  syntaxAt = 0;
  while (true) {
    if (state == EXPECT_VALUE) {
      const c = at(p);
      if (c == LBRACE || c == LBRACKET) {
        if (depth == MAX_DEPTH) {
          emit(RULE_DEPTH, p, p, "");
          return false;
        }
        store<u8>(stack + depth, <u8>c);
        depth++;
        p = ws(p + 1);
        if (at(p) == c + 2) { // `}` is `{` + 2, `]` is `[` + 2
          depth--;
          p++;
          state = AFTER_VALUE;
        } else {
          state = c == LBRACE ? EXPECT_KEY : EXPECT_VALUE;
        }
        continue;
      }
      if (c == QUOTE) p = scanString(p);
      else if (c == 0x74) p = scanLiteral(p, "true");
      else if (c == 0x66) p = scanLiteral(p, "false");
      else if (c == 0x6e) p = scanLiteral(p, "null");
      else if (c == 0x2d || isDigit(c)) p = scanNumber(p);
      else {
        syntaxAt = p;
        p = 0;
      }
      if (p == 0) break;
      state = AFTER_VALUE;
    } else if (state == EXPECT_KEY) {
      if (at(p) != QUOTE) {
        syntaxAt = p;
        break;
      }
      p = scanString(p);
      if (p == 0) break;
      p = ws(p);
      if (at(p) != COLON) {
        syntaxAt = p;
        break;
      }
      p = ws(p + 1);
      state = EXPECT_VALUE;
    } else {
      p = ws(p);
      if (depth == 0) {
        if (p == inEnd) return true;
        syntaxAt = p;
        break;
      }
      const open = <u32>load<u8>(stack + depth - 1);
      const c = at(p);
      if (c == COMMA) {
        p = ws(p + 1);
        state = open == LBRACE ? EXPECT_KEY : EXPECT_VALUE;
      } else if (c == open + 2) {
        depth--;
        p++;
      } else {
        syntaxAt = p;
        break;
      }
    }
  }
  emit(RULE_SYNTAX, syntaxAt, syntaxAt, "");
  return false;
}

// ---------------------------------------------------------------------------------------------
// Navigation over well-formed JSON

/** The address after the string whose opening quote is at `p`. */
function stringEnd(p: usize): usize {
  p++;
  while (true) {
    const c = <u32>load<u8>(p);
    if (c == QUOTE) return p + 1;
    p += c == BACKSLASH ? 2 : 1;
  }
}

/** The address after the value starting at `p`. */
function valueEnd(p: usize): usize {
  const c = <u32>load<u8>(p);
  if (c == QUOTE) return stringEnd(p);
  if (c == LBRACE || c == LBRACKET) {
    let depth: u32 = 0;
    while (true) {
      const d = <u32>load<u8>(p);
      if (d == QUOTE) {
        p = stringEnd(p);
        continue;
      }
      if (d == LBRACE || d == LBRACKET) depth++;
      else if (d == RBRACE || d == RBRACKET) {
        depth--;
        if (depth == 0) return p + 1;
      }
      p++;
    }
  }
  // A number or a literal: up to the next delimiter.
  while (p < inEnd) {
    const d = <u32>load<u8>(p);
    if (d == COMMA || d == RBRACE || d == RBRACKET || isWs(d)) break;
    p++;
  }
  return p;
}

/** Starts iterating the decoded units of the string whose opening quote is at `q`. */
function iterate(q: usize): void {
  itPos = q + 1;
  itEnd = stringEnd(q) - 1;
}

/** Where the unit read by the last unitAt() ends. */
let unitNext: usize = 0;

/**
 * The unit at `p`, inside a well-formed string and not at its closing quote; sets unitNext.
 * Escapes yield their UTF-16 code unit (as JSON.parse reads them); raw UTF-8 yields its code
 * point, which is never a surrogate.
 */
function unitAt(p: usize): i32 {
  const b = <i32>load<u8>(p);
  if (b == <i32>BACKSLASH) {
    const e = <i32>load<u8>(p + 1);
    unitNext = p + 2;
    if (e == 0x62) return 0x08;
    if (e == 0x66) return 0x0c;
    if (e == 0x6e) return 0x0a;
    if (e == 0x72) return 0x0d;
    if (e == 0x74) return 0x09;
    if (e == 0x75) {
      unitNext = p + 6;
      return (hexValue(load<u8>(p + 2)) << 12) | (hexValue(load<u8>(p + 3)) << 8) |
        (hexValue(load<u8>(p + 4)) << 4) | hexValue(load<u8>(p + 5));
    }
    return e; // `"`, `\`, `/`
  }
  if (b < 0x80) {
    unitNext = p + 1;
    return b;
  }
  const b1 = <i32>load<u8>(p + 1) & 0x3f;
  if (b < 0xe0) {
    unitNext = p + 2;
    return ((b & 0x1f) << 6) | b1;
  }
  const b2 = <i32>load<u8>(p + 2) & 0x3f;
  if (b < 0xf0) {
    unitNext = p + 3;
    return ((b & 0x0f) << 12) | (b1 << 6) | b2;
  }
  const b3 = <i32>load<u8>(p + 3) & 0x3f;
  unitNext = p + 4;
  return ((b & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3;
}

/** The next unit (unitAt()) of the string being iterated, or -1 at its end. */
function nextUnit(): i32 {
  if (itPos >= itEnd) return -1;
  const u = unitAt(itPos);
  itPos = unitNext;
  return u;
}

/** Decodes the key string at `q` into keyBuf (keyLen > KEY_CAP when it is longer). */
function loadKey(q: usize): void {
  iterate(q);
  keyLen = 0;
  while (true) {
    const u = nextUnit();
    if (u < 0) return;
    if (keyLen == KEY_CAP) {
      keyLen++;
      return;
    }
    store<u32>(keyBuf + (keyLen << 2), <u32>u);
    keyLen++;
  }
}

function keyIs(name: string): bool {
  if (keyLen != <u32>name.length) return false;
  for (let i: u32 = 0; i < keyLen; i++) {
    if (load<u32>(keyBuf + (i << 2)) != <u32>name.charCodeAt(i)) return false;
  }
  return true;
}

/** The slot of the key in keyBuf for an object of kind `obj`, or -1. */
function keySlot(obj: i32): i32 {
  if (obj == OBJ_CONFIG) {
    if (keyIs("cniVersion")) return K_CNI_VERSION;
    if (keyIs("cniVersions")) return K_CNI_VERSIONS;
    if (keyIs("name")) return K_NAME;
    if (keyIs("type")) return K_TYPE;
    if (keyIs("deviceID")) return K_DEVICE_ID;
    if (keyIs("guid")) return K_GUID;
    if (keyIs("pkey")) return K_PKEY;
    if (keyIs("link_state")) return K_LINK_STATE;
    if (keyIs("rdmaIsolation")) return K_RDMA_ISOLATION;
    if (keyIs("ibKubernetesEnabled")) return K_IB_KUBERNETES;
    if (keyIs("vfioPciMode")) return K_VFIO;
    if (keyIs("ipam")) return K_IPAM;
    if (keyIs("dns")) return K_DNS;
    if (keyIs("capabilities")) return K_CAPABILITIES;
    if (keyIs("runtimeConfig")) return K_RUNTIME_CONFIG;
    if (keyIs("args")) return K_ARGS;
    if (keyIs("prevResult")) return K_PREV_RESULT;
    if (keyIs("logLevel")) return K_LOG_LEVEL;
    if (keyIs("logFile")) return K_LOG_FILE;
    if (keyIs("plugins")) return K_PLUGINS;
  } else if (obj == OBJ_IPAM) {
    if (keyIs("type")) return K_IPAM_TYPE;
  } else if (obj == OBJ_RUNTIME_CONFIG) {
    if (keyIs("infinibandGUID")) return K_INFINIBAND_GUID;
    if (keyIs("CNIDeviceInfoFile")) return K_DEVICE_INFO_FILE;
  } else if (obj == OBJ_ARGS) {
    if (keyIs("cni")) return K_ARGS_CNI;
  } else if (obj == OBJ_ARGS_CNI) {
    if (keyIs("guid")) return K_CNI_GUID;
    if (keyIs("mellanox.infiniband.app")) return K_CNI_APP;
  }
  return -1;
}

/** The first and last slot of an object kind. */
function firstSlot(obj: i32): i32 {
  if (obj == OBJ_CONFIG) return 0;
  if (obj == OBJ_IPAM) return K_IPAM_TYPE;
  if (obj == OBJ_RUNTIME_CONFIG) return K_INFINIBAND_GUID;
  if (obj == OBJ_ARGS) return K_ARGS_CNI;
  return K_CNI_GUID;
}

function lastSlot(obj: i32): i32 {
  if (obj == OBJ_CONFIG) return K_PLUGINS;
  if (obj == OBJ_RUNTIME_CONFIG) return K_DEVICE_INFO_FILE;
  if (obj == OBJ_ARGS_CNI) return K_CNI_APP;
  return firstSlot(obj);
}

// Walking an object's members: `for (let p = firstMember(o); p != 0;) { p = member(p); … }`.
let memberKey: usize = 0;
let memberValue: usize = 0;
let memberEnd: usize = 0;

/** The address of the first key of the object at `o`, or 0 when it is empty. */
function firstMember(o: usize): usize {
  const p = ws(o + 1);
  return load<u8>(p) == RBRACE ? 0 : p;
}

/**
 * Reads the member whose key is at `k` into memberKey, memberValue and memberEnd (the address
 * after its value); returns the address of the next member's key, or 0 after the last.
 */
function member(k: usize): usize {
  memberKey = k;
  memberValue = ws(ws(stringEnd(k)) + 1); // past the colon
  memberEnd = valueEnd(memberValue);
  const p = ws(memberEnd);
  return load<u8>(p) == COMMA ? ws(p + 1) : 0;
}

/**
 * Records where the known keys of the object at `o` have their values. A key given twice keeps
 * its last value, as JSON.parse does: each member overwrites its slot, one pass in all.
 */
function scanObject(o: usize, obj: i32): void {
  for (let s = firstSlot(obj); s <= lastSlot(obj); s++) store<u32>(slotStart + (s << 2), 0);
  for (let p = firstMember(o); p != 0;) {
    p = member(p);
    loadKey(memberKey);
    const s = keySlot(obj);
    if (s >= 0) {
      store<u32>(slotStart + (s << 2), <u32>memberValue);
      store<u32>(slotEnd + (s << 2), <u32>memberEnd);
    }
  }
}

function has(s: i32): bool {
  return load<u32>(slotStart + (s << 2)) != 0;
}

function vStart(s: i32): usize {
  return <usize>load<u32>(slotStart + (s << 2));
}

function vEnd(s: i32): usize {
  return <usize>load<u32>(slotEnd + (s << 2));
}

function first(s: i32): u32 {
  return <u32>load<u8>(vStart(s));
}

function isString(s: i32): bool {
  return first(s) == QUOTE;
}

function isObject(s: i32): bool {
  return first(s) == LBRACE;
}

function isTrue(s: i32): bool {
  return has(s) && first(s) == 0x74;
}

function isBoolean(s: i32): bool {
  return isBooleanAt(vStart(s));
}

/** Whether the value at `v` is `true` or `false`. */
function isBooleanAt(v: usize): bool {
  const c = <u32>load<u8>(v);
  return c == 0x74 || c == 0x66;
}

/**
 * Decodes the string at `q`: its first STR_CAP units into strBuf, its length in units into
 * strLen, whether every unit may appear in a network name, and whether one is NUL or `/`.
 */
function loadString(q: usize): void {
  iterate(q);
  strLen = 0;
  strNameChars = true;
  strHasNul = false;
  strHasSlash = false;
  while (true) {
    const u = nextUnit();
    if (u < 0) return;
    if (strLen < STR_CAP) store<u32>(strBuf + (strLen << 2), <u32>u);
    strLen++;
    if (u == 0) strHasNul = true;
    if (u == 0x2f) strHasSlash = true;
    if (!isAlnum(u) && u != 0x5f && u != 0x2e && u != 0x2d) strNameChars = false;
  }
}

function unit(i: u32): u32 {
  return load<u32>(strBuf + (i << 2));
}

function strIs(text: string): bool {
  if (strLen != <u32>text.length) return false;
  for (let i: u32 = 0; i < strLen; i++) {
    if (unit(i) != <u32>text.charCodeAt(i)) return false;
  }
  return true;
}

function isAlnum(u: i32): bool {
  return (u >= 0x30 && u <= 0x39) || ((u | 0x20) >= 0x61 && (u | 0x20) <= 0x7a);
}

function isHex(u: u32): bool {
  return u < 0x80 && hexValue(u) >= 0;
}

// ---------------------------------------------------------------------------------------------
// Rules

/** Linux's PATH_MAX less its NUL, and NAME_MAX: longer paths and names fail ENAMETOOLONG. */
const PATH_BYTES_MAX: u32 = 4095;
const NAME_BYTES_MAX: u32 = 255;

/** Bytes of a unit in UTF-8 (a surrogate escape counts 3, as WTF-8 writes it). */
function utf8Bytes(u: i32): u32 {
  if (u < 0x80) return 1;
  if (u < 0x800) return 2;
  if (u < 0x10000) return 3;
  return 4;
}

/**
 * `logFile`: empty (no file), or a path beneath `LOG_DIR/`, absolute or relative to
 * it, with no NUL, no empty, `.` or `..` segment, of at most {@link PATH_BYTES_MAX} bytes once
 * resolved and segments of at most {@link NAME_BYTES_MAX}. Read unit by unit: the path may be
 * longer than strBuf holds.
 */
function logFileOk(q: usize): bool {
  iterate(q);
  const prefixLength: u32 = <u32>LOG_DIR.length + 1;
  let i: u32 = 0;
  let relative = false;
  let bytes: u32 = prefixLength;
  // The segment being read: its length in bytes and whether it is all dots.
  let segment: u32 = 0;
  let dots: bool = true;
  while (true) {
    const u = nextUnit();
    if (u < 0) break;
    if (u == 0) return false;
    if (i == 0 && u != 0x2f) relative = true;
    if (!relative && i < prefixLength) {
      if (u != (i < prefixLength - 1 ? LOG_DIR.charCodeAt(i) : 0x2f)) return false;
    } else {
      bytes += utf8Bytes(u);
      if (u == 0x2f) {
        if (segment == 0 || (dots && segment <= 2)) return false;
        segment = 0;
        dots = true;
      } else {
        segment += utf8Bytes(u);
        if (u != 0x2e) dots = false;
        if (segment > NAME_BYTES_MAX) return false;
      }
    }
    i++;
  }
  if (i == 0) return true;
  return segment > 0 && !(dots && segment <= 2) && bytes <= PATH_BYTES_MAX;
}

/** The CNI specification's network name, `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. */
function nameOk(): bool {
  return strLen > 0 && strNameChars && isAlnum(<i32>unit(0));
}

/** lib/cni/versions.ts SUPPORTED_VERSIONS. */
function versionOk(): bool {
  return strIs("0.1.0") || strIs("0.2.0") || strIs("0.3.0") || strIs("0.3.1") ||
    strIs("0.4.0") || strIs("1.0.0") || strIs("1.1.0");
}

/**
 * `^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$`: domain, bus, device (0-1f), function
 * (0-7).
 */
function pciOk(): bool {
  if (strLen != 12) return false;
  for (let i: u32 = 0; i < 12; i++) {
    const u = unit(i);
    let ok: bool;
    if (i == 4 || i == 7) ok = u == COLON;
    else if (i == 8) ok = u == 0x30 || u == 0x31;
    else if (i == 10) ok = u == 0x2e;
    else if (i == 11) ok = u >= 0x30 && u <= 0x37;
    else ok = isHex(u);
    if (!ok) return false;
  }
  return true;
}

/** lib/guid.ts guidProblem(): 8 colon-separated hex bytes, not all zeros. */
function guidOk(): bool {
  if (strLen != 23) return false;
  let zero = true;
  for (let i: u32 = 0; i < 23; i++) {
    const u = unit(i);
    if (i % 3 == 2) {
      if (u != COLON) return false;
    } else {
      if (!isHex(u)) return false;
      if (u != 0x30) zero = false;
    }
  }
  return !zero;
}

/**
 * `^0x[0-9a-fA-F]{1,4}$` with a non-zero 15-bit key: the top bit is the membership bit, the
 * other 15 the key, and key 0 is reserved.
 */
function pkeyOk(): bool {
  if (strLen < 3 || strLen > 6 || unit(0) != 0x30 || unit(1) != 0x78) return false;
  let value: i32 = 0;
  for (let i: u32 = 2; i < strLen; i++) {
    if (!isHex(unit(i))) return false;
    value = (value << 4) | hexValue(unit(i));
  }
  return (value & 0x7fff) != 0;
}

/**
 * A file name in CNI_PATH, as `ipam.type` must be: not `.` or `..`, no `/` and no NUL, so that
 * it can never name a file outside CNI_PATH.
 */
function fileNameOk(): bool {
  return !strIs(".") && !strIs("..") && !strHasSlash && !strHasNul;
}

function checkName(o: usize): void {
  if (!has(K_NAME)) {
    emit(RULE_NAME, o, o, "name");
    return;
  }
  if (!isString(K_NAME)) {
    emitSlot(RULE_NAME, K_NAME, "name");
    return;
  }
  loadString(vStart(K_NAME));
  if (!nameOk()) emitSlot(RULE_NAME, K_NAME, "name");
}

/** cniVersion and cniVersions, as lib/cni/versions.ts negotiateVersion() reads them. */
function checkVersions(): void {
  let typesOk = true;
  if (has(K_CNI_VERSION) && !isString(K_CNI_VERSION)) {
    emitSlot(RULE_VERSION_TYPE, K_CNI_VERSION, "cniVersion");
    typesOk = false;
  }
  let listLength: u32 = 0;
  let listSupported = false;
  if (has(K_CNI_VERSIONS)) {
    let ok = first(K_CNI_VERSIONS) == LBRACKET;
    if (ok) {
      let p = ws(vStart(K_CNI_VERSIONS) + 1);
      while (load<u8>(p) != RBRACKET) {
        if (load<u8>(p) != QUOTE) {
          ok = false;
          break;
        }
        loadString(p);
        if (versionOk()) listSupported = true;
        listLength++;
        p = ws(stringEnd(p));
        if (load<u8>(p) == COMMA) p = ws(p + 1);
      }
    }
    if (!ok) {
      emitSlot(RULE_VERSION_TYPE, K_CNI_VERSIONS, "cniVersions");
      typesOk = false;
    }
  }
  if (!typesOk) return;
  if (has(K_CNI_VERSION)) {
    loadString(vStart(K_CNI_VERSION));
    if (strLen > 0) {
      if (!versionOk()) emitSlot(RULE_VERSION, K_CNI_VERSION, "cniVersion");
      return;
    }
  }
  if (listLength > 0 && !listSupported) emitSlot(RULE_VERSION, K_CNI_VERSIONS, "cniVersions");
}

/**
 * A string field with a fixed form: wrong type or wrong form is one rule. Empty is unset, as the
 * Go plugin reads `link_state`, `pkey` and the GUID sources.
 */
function checkGuid(s: i32, field: string): void {
  if (!has(s)) return;
  if (isString(s)) {
    loadString(vStart(s));
    if (strLen == 0 || guidOk()) return;
  }
  emitSlot(RULE_GUID, s, field);
}

function checkObject(s: i32, field: string): bool {
  if (!has(s)) return false;
  if (isObject(s)) return true;
  emitSlot(RULE_OBJECT, s, field);
  return false;
}

/** The fields of one ib-sriov plugin config at `o`, whose keys scanObject() has recorded. */
function checkPlugin(o: usize): void {
  if (has(K_TYPE) && !isString(K_TYPE)) emitSlot(RULE_TYPE, K_TYPE, "type");
  if (has(K_DEVICE_ID)) {
    let ok = isString(K_DEVICE_ID);
    if (ok) {
      loadString(vStart(K_DEVICE_ID));
      ok = pciOk();
    }
    if (!ok) emitSlot(RULE_DEVICE_ID, K_DEVICE_ID, "deviceID");
  } else if ((flags & FLAG_REQUIRE_DEVICE_ID) != 0) {
    emit(RULE_DEVICE_ID_REQUIRED, o, o, "deviceID");
  }
  checkGuid(K_GUID, "guid");
  if (has(K_PKEY)) {
    let ok = isString(K_PKEY);
    if (ok) {
      loadString(vStart(K_PKEY));
      ok = strLen == 0 || pkeyOk();
    }
    if (!ok) emitSlot(RULE_PKEY, K_PKEY, "pkey");
  }
  if (has(K_LINK_STATE)) {
    let ok = isString(K_LINK_STATE);
    if (ok) {
      loadString(vStart(K_LINK_STATE));
      ok = strLen == 0 || strIs("auto") || strIs("enable") || strIs("disable");
    }
    if (!ok) emitSlot(RULE_LINK_STATE, K_LINK_STATE, "link_state");
  }
  if (has(K_RDMA_ISOLATION) && !isBoolean(K_RDMA_ISOLATION)) {
    emitSlot(RULE_BOOLEAN, K_RDMA_ISOLATION, "rdmaIsolation");
  }
  if (has(K_IB_KUBERNETES) && !isBoolean(K_IB_KUBERNETES)) {
    emitSlot(RULE_BOOLEAN, K_IB_KUBERNETES, "ibKubernetesEnabled");
  }
  if (has(K_VFIO) && !isBoolean(K_VFIO)) emitSlot(RULE_BOOLEAN, K_VFIO, "vfioPciMode");
  if (isTrue(K_VFIO) && isTrue(K_RDMA_ISOLATION)) emitSlot(RULE_VFIO_RDMA, K_VFIO, "vfioPciMode");
  checkObject(K_DNS, "dns");
  checkObject(K_PREV_RESULT, "prevResult");
  if (has(K_CAPABILITIES)) checkCapabilities();
  if (has(K_LOG_LEVEL)) {
    let ok = isString(K_LOG_LEVEL);
    if (ok) {
      loadString(vStart(K_LOG_LEVEL));
      ok = strIs("error") || strIs("warning") || strIs("info") || strIs("debug");
    }
    if (!ok) emitSlot(RULE_LOG_LEVEL, K_LOG_LEVEL, "logLevel");
  }
  if (has(K_LOG_FILE)) {
    const ok = isString(K_LOG_FILE) && logFileOk(vStart(K_LOG_FILE));
    if (!ok) emitSlot(RULE_LOG_FILE, K_LOG_FILE, "logFile");
  }
  // The nested objects last: scanning one reuses only its own slots. `"ipam": {}`, what the
  // SR-IOV network operator renders without IPAM, means no IPAM, as in the Go plugin.
  if (checkObject(K_IPAM, "ipam") && firstMember(vStart(K_IPAM)) != 0) {
    const ipam = vStart(K_IPAM);
    scanObject(ipam, OBJ_IPAM);
    if (!has(K_IPAM_TYPE)) {
      emit(RULE_IPAM_TYPE, ipam, ipam, "ipam.type");
    } else if (!isString(K_IPAM_TYPE)) {
      emitSlot(RULE_IPAM_TYPE, K_IPAM_TYPE, "ipam.type");
    } else {
      loadString(vStart(K_IPAM_TYPE));
      if (strLen == 0 || !fileNameOk()) emitSlot(RULE_IPAM_TYPE, K_IPAM_TYPE, "ipam.type");
      else if (strIs("dhcp")) emitSlot(RULE_IPAM_DHCP, K_IPAM_TYPE, "ipam.type");
    }
  }
  if (checkObject(K_RUNTIME_CONFIG, "runtimeConfig")) {
    scanObject(vStart(K_RUNTIME_CONFIG), OBJ_RUNTIME_CONFIG);
    checkGuid(K_INFINIBAND_GUID, "runtimeConfig.infinibandGUID");
    if (has(K_DEVICE_INFO_FILE) && !deviceInfoFileOk()) {
      emitSlot(RULE_DEVICE_INFO_FILE, K_DEVICE_INFO_FILE, "runtimeConfig.CNIDeviceInfoFile");
    }
  }
  if (checkObject(K_ARGS, "args")) {
    scanObject(vStart(K_ARGS), OBJ_ARGS);
    if (checkObject(K_ARGS_CNI, "args.cni")) {
      scanObject(vStart(K_ARGS_CNI), OBJ_ARGS_CNI);
      checkGuid(K_CNI_GUID, "args.cni.guid");
      if (has(K_CNI_APP) && !isString(K_CNI_APP)) {
        emitSlot(RULE_STRING, K_CNI_APP, 'args.cni["mellanox.infiniband.app"]');
      }
    }
  }
}

/**
 * `capabilities`: an object whose values are all booleans. A key given twice keeps its last
 * value, so a non-boolean counts only when no later member has the same key (the same text once
 * decoded: "\u0061" is "a"). Finding the later members sorts the keys, O(n log n) comparisons
 * whatever they are; a hash table would be linear on average, but keys crafted to collide would
 * bring back the quadratic time this avoids, and the module has no seed to randomise a hash with.
 */
function checkCapabilities(): void {
  if (!isObject(K_CAPABILITIES)) {
    emitSlot(RULE_CAPABILITIES, K_CAPABILITIES, "capabilities");
    return;
  }
  // 1. Count the members; without a non-boolean there is nothing to report.
  const o = vStart(K_CAPABILITIES);
  let n: u32 = 0;
  let suspects: u32 = 0;
  for (let p = firstMember(o); p != 0;) {
    p = member(p);
    n++;
    if (!isBooleanAt(memberValue)) suspects++;
  }
  if (suspects == 0) return;
  // 2. Each member's key address by ordinal, and the ordinals sorted by key text.
  const keys = scratchAddress();
  const order = keys + (n << 2);
  const spare = order + (n << 2);
  // 12 bytes a member, 5 input bytes at least (`"":0,`). Should memory not grow, trap rather
  // than pass a config unchecked.
  if (!ensure(spare + (n << 2))) unreachable();
  let i: u32 = 0;
  for (let p = firstMember(o); p != 0; i++) {
    p = member(p);
    store<u32>(keys + (i << 2), <u32>memberKey);
    store<u32>(order + (i << 2), i);
  }
  const sorted = sortByKey(keys, order, spare, n);
  // 3. Equal keys are adjacent, in input order (the sort is stable): all but the last of each
  // run are superseded. The buffer the sort did not end in holds one flag byte per ordinal.
  const superseded = sorted == order ? spare : order;
  memory.fill(superseded, 0, n);
  for (let j: u32 = 1; j < n; j++) {
    const before = load<u32>(sorted + ((j - 1) << 2));
    if (compareKeys(keyOf(keys, before), keyOf(keys, load<u32>(sorted + (j << 2)))) == 0) {
      store<u8>(superseded + before, 1);
    }
  }
  // 4. Report the non-booleans that are not superseded, in input order.
  i = 0;
  for (let p = firstMember(o); p != 0; i++) {
    p = member(p);
    if (!isBooleanAt(memberValue) && load<u8>(superseded + i) == 0) {
      emitKeyed(RULE_CAPABILITIES, memberValue, memberEnd, "capabilities", memberKey);
    }
  }
}

/** The key address of ordinal `i` in the array at `keys`. */
@inline
function keyOf(keys: usize, i: u32): usize {
  return <usize>load<u32>(keys + (i << 2));
}

/**
 * Sorts the `n` ordinals at `from` by the text of their keys (compareKeys()), stably: a
 * bottom-up merge sort, with `spare` as the other buffer. Returns where the sorted ordinals
 * ended: `from` or `spare`.
 */
function sortByKey(keys: usize, from: usize, spare: usize, n: u32): usize {
  let src = from;
  let dst = spare;
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width << 1) {
      const mid = min(lo + width, n);
      const hi = min(lo + (width << 1), n);
      let a = lo;
      let b = mid;
      let out = dst + (lo << 2);
      while (a < mid && b < hi) {
        const x = load<u32>(src + (a << 2));
        const y = load<u32>(src + (b << 2));
        // `<=`: of equal keys, the earlier member stays first.
        if (compareKeys(keyOf(keys, x), keyOf(keys, y)) <= 0) {
          store<u32>(out, x);
          a++;
        } else {
          store<u32>(out, y);
          b++;
        }
        out += 4;
      }
      memory.copy(out, src + (a << 2), (mid - a) << 2);
      out += (mid - a) << 2;
      memory.copy(out, src + (b << 2), (hi - b) << 2);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/**
 * Orders the keys whose opening quotes are at `a` and `b` by their decoded text; 0 exactly when
 * JSON.parse gives them the same string.
 */
function compareKeys(a: usize, b: usize): i32 {
  a++;
  b++;
  // Equal bytes before any escape are equal text: skip them.
  while (true) {
    const c = <u32>load<u8>(a);
    if (c != <u32>load<u8>(b) || c == QUOTE || c == BACKSLASH) break;
    a++;
    b++;
  }
  // Mid-character (continuation bytes): byte order is code point order.
  const x = <u32>load<u8>(a);
  const y = <u32>load<u8>(b);
  if ((x & 0xc0) == 0x80 && (y & 0xc0) == 0x80) return x < y ? -1 : 1;
  while (true) {
    const endA = load<u8>(a) == QUOTE;
    const endB = load<u8>(b) == QUOTE;
    if (endA || endB) return <i32>endB - <i32>endA;
    const u = keyCharAt(a);
    a = unitNext;
    const w = keyCharAt(b);
    b = unitNext;
    if (u != w) return u < w ? -1 : 1;
  }
}

/**
 * The character at `p` for comparing keys: unitAt(), except that an escaped surrogate pair is
 * joined into the code point raw UTF-8 gives, since "\ud83d\ude00" and a raw 😀 are the same
 * JavaScript string. Sets unitNext.
 */
function keyCharAt(p: usize): i32 {
  const u = unitAt(p);
  if (u < 0xd800 || u > 0xdbff) return u;
  const after = unitNext;
  if (load<u8>(after) != BACKSLASH || load<u8>(after + 1) != 0x75) return u;
  const low = unitAt(after);
  if (low >= 0xdc00 && low <= 0xdfff) return 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
  unitNext = after;
  return u;
}

/**
 * `runtimeConfig.CNIDeviceInfoFile`: a string, DEVICE_INFO_DIR followed by one file name (not
 * empty, `.` or `..`; no `/` or NUL; at most NAME_BYTES_MAX bytes). Symbolic links are the
 * open's to refuse: they are state of the node, not of the config.
 */
function deviceInfoFileOk(): bool {
  if (!isString(K_DEVICE_INFO_FILE)) return false;
  iterate(vStart(K_DEVICE_INFO_FILE));
  for (let i = 0; i < DEVICE_INFO_DIR.length; i++) {
    if (nextUnit() != DEVICE_INFO_DIR.charCodeAt(i)) return false;
  }
  let length: u32 = 0;
  let bytes: u32 = 0;
  let dots: u32 = 0;
  while (true) {
    const u = nextUnit();
    if (u < 0) break;
    if (u == 0 || u == 0x2f) return false;
    if (u == 0x2e) dots++;
    length++;
    bytes += utf8Bytes(u);
  }
  return length > 0 && bytes <= NAME_BYTES_MAX && !(dots == length && length <= 2);
}

/** A conflist at `o`: its plugins, and the ib-sriov ones as plugin configs. */
function checkConflist(o: usize): void {
  if (first(K_PLUGINS) != LBRACKET) {
    emitSlot(RULE_PLUGINS, K_PLUGINS, "plugins");
    return;
  }
  const list = vStart(K_PLUGINS);
  let p = ws(list + 1);
  if (load<u8>(p) == RBRACKET) {
    emit(RULE_PLUGINS, list, vEnd(K_PLUGINS), "plugins");
    return;
  }
  let i: u32 = 0;
  while (true) {
    const end = valueEnd(p);
    setPrefix(i);
    if (load<u8>(p) != LBRACE) {
      emit(RULE_PLUGINS, p, end, "");
    } else {
      scanObject(p, OBJ_CONFIG);
      let ours = false;
      if (has(K_TYPE) && isString(K_TYPE)) {
        loadString(vStart(K_TYPE));
        ours = strIs(PLUGIN_TYPE);
        if (strLen == 0) emitSlot(RULE_TYPE, K_TYPE, "type");
      } else if (has(K_TYPE)) {
        emitSlot(RULE_TYPE, K_TYPE, "type");
      } else {
        emit(RULE_TYPE, p, p, "type");
      }
      if (ours) checkPlugin(p);
    }
    prefixLen = 0;
    p = ws(end);
    if (load<u8>(p) != COMMA) return;
    p = ws(p + 1);
    i++;
  }
}

/** The top-level value at `v`. */
function checkDocument(v: usize): void {
  if (load<u8>(v) != LBRACE) {
    emit(RULE_NOT_OBJECT, v, valueEnd(v), "");
    return;
  }
  scanObject(v, OBJ_CONFIG);
  checkName(v);
  checkVersions();
  if ((flags & FLAG_PLUGIN_CONFIG) == 0 && has(K_PLUGINS)) checkConflist(v);
  else checkPlugin(v);
}

// ---------------------------------------------------------------------------------------------
// Records: [u32 rule][u32 offset][u32 value length][u32 path length][path bytes][pad to 4]

/** Sets the path prefix to `plugins[i]`. */
function setPrefix(i: u32): void {
  prefixLen = 0;
  const name = "plugins[";
  for (let j = 0; j < name.length; j++) {
    store<u8>(prefixBuf + prefixLen++, <u8>name.charCodeAt(j));
  }
  let digits: u32 = 1;
  for (let n = i; n >= 10; n /= 10) digits++;
  for (let j = digits; j > 0; j--) {
    store<u8>(prefixBuf + prefixLen + j - 1, <u8>(0x30 + (i % 10)));
    i /= 10;
  }
  prefixLen += digits;
  store<u8>(prefixBuf + prefixLen++, RBRACKET);
}

function emitSlot(rule: u32, s: i32, field: string): void {
  emit(rule, vStart(s), vEnd(s), field);
}

function emit(rule: u32, from: usize, to: usize, field: string): void {
  const header = begin(rule, from, to, <usize>field.length);
  if (header == 0) return;
  writeField(field);
  finish(header);
}

/** Like emit(), with the key at `k` appended to the path as fieldName() writes it. */
function emitKeyed(rule: u32, from: usize, to: usize, field: string, k: usize): void {
  // No unit is longer in JSON.stringify's form than in the input (`\u001f` stays `\u001f`,
  // `\u00e9` becomes two bytes), so the key's own length bounds it, plus `[""]`.
  const header = begin(rule, from, to, <usize>field.length + (stringEnd(k) - k) + 4);
  if (header == 0) return;
  writeField(field);
  writeKey(k);
  finish(header);
}

/** Writes a record header; returns its address, or 0 when the record is not written. */
function begin(rule: u32, from: usize, to: usize, pathRoom: usize): usize {
  total++;
  if (total > MAX_RECORDS) return 0;
  if (!ensure(outPos + 16 + prefixLen + 1 + pathRoom + 4)) return 0;
  const header = outPos;
  store<u32>(header, rule);
  store<u32>(header + 4, <u32>(from - inBase));
  store<u32>(header + 8, <u32>(to - from));
  outPos = header + 16;
  for (let i: u32 = 0; i < prefixLen; i++) store<u8>(outPos++, load<u8>(prefixBuf + i));
  return header;
}

function finish(header: usize): void {
  store<u32>(header + 12, <u32>(outPos - header - 16));
  while ((outPos & 3) != 0) store<u8>(outPos++, 0);
}

function writeField(field: string): void {
  if (field.length == 0) return;
  if (prefixLen > 0 && field.charCodeAt(0) != LBRACKET) store<u8>(outPos++, 0x2e);
  for (let i = 0; i < field.length; i++) store<u8>(outPos++, <u8>field.charCodeAt(i));
}

/** Appends the key at `k`: `.key` when it is an identifier, else `["key"]` in JSON.stringify form. */
function writeKey(k: usize): void {
  iterate(k);
  let identifier = itPos < itEnd;
  let firstUnit = true;
  while (true) {
    const u = nextUnit();
    if (u < 0) break;
    const letter = (u | 0x20) >= 0x61 && (u | 0x20) <= 0x7a || u == 0x5f;
    if (!(letter || (!firstUnit && u >= 0x30 && u <= 0x39))) identifier = false;
    firstUnit = false;
  }
  iterate(k);
  if (identifier) {
    store<u8>(outPos++, 0x2e);
    while (true) {
      const u = nextUnit();
      if (u < 0) return;
      store<u8>(outPos++, <u8>u);
    }
  }
  store<u8>(outPos++, LBRACKET);
  store<u8>(outPos++, QUOTE);
  while (true) {
    let u = nextUnit();
    if (u < 0) break;
    if (u >= 0xd800 && u <= 0xdbff) {
      // A high surrogate followed by a low one is one character; alone, JSON.stringify escapes it.
      const saved = itPos;
      const low = nextUnit();
      if (low >= 0xdc00 && low <= 0xdfff) u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
      else itPos = saved;
    }
    writeJsonUnit(u);
  }
  store<u8>(outPos++, QUOTE);
  store<u8>(outPos++, RBRACKET);
}

/** One code point (or lone surrogate) as JSON.stringify writes it, in UTF-8. */
function writeJsonUnit(u: i32): void {
  let escape: i32 = 0;
  if (u == <i32>QUOTE || u == <i32>BACKSLASH) escape = u;
  else if (u == 0x08) escape = 0x62;
  else if (u == 0x0c) escape = 0x66;
  else if (u == 0x0a) escape = 0x6e;
  else if (u == 0x0d) escape = 0x72;
  else if (u == 0x09) escape = 0x74;
  if (escape != 0) {
    store<u8>(outPos++, BACKSLASH);
    store<u8>(outPos++, <u8>escape);
  } else if (u < 0x20 || (u >= 0xd800 && u <= 0xdfff)) {
    store<u8>(outPos++, BACKSLASH);
    store<u8>(outPos++, 0x75);
    for (let shift = 12; shift >= 0; shift -= 4) {
      const d = (u >> shift) & 0xf;
      store<u8>(outPos++, <u8>(d < 10 ? 0x30 + d : 0x61 + d - 10));
    }
  } else if (u < 0x80) {
    store<u8>(outPos++, <u8>u);
  } else if (u < 0x800) {
    store<u8>(outPos++, <u8>(0xc0 | (u >> 6)));
    store<u8>(outPos++, <u8>(0x80 | (u & 0x3f)));
  } else if (u < 0x10000) {
    store<u8>(outPos++, <u8>(0xe0 | (u >> 12)));
    store<u8>(outPos++, <u8>(0x80 | ((u >> 6) & 0x3f)));
    store<u8>(outPos++, <u8>(0x80 | (u & 0x3f)));
  } else {
    store<u8>(outPos++, <u8>(0xf0 | (u >> 18)));
    store<u8>(outPos++, <u8>(0x80 | ((u >> 12) & 0x3f)));
    store<u8>(outPos++, <u8>(0x80 | ((u >> 6) & 0x3f)));
    store<u8>(outPos++, <u8>(0x80 | (u & 0x3f)));
  }
}
