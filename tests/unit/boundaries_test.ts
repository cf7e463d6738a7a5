/**
 * The privilege boundaries of the design ("folder = privilege"), enforced on the source text of
 * the production code: cli.ts, mod.ts, lib/ and ffi/. tools/ and tests/ are not production code.
 *
 * Comments and JSDoc are blanked before matching, so a comment that mentions `/sys` or
 * `Deno.exit` is no violation; string literals are kept, so `"/sys/bus/pci"` is one.
 *
 * `--allow-ffi` gives native code the whole process's power, so these checks are what keeps
 * the modules apart:
 * - only `ffi/` calls `Deno.dlopen`, and each privileged module imports only its own binding
 *   from `ffi/` (`bindingViolations`): the sysfs reader and the operator tool's file reads
 *   `ffi/sysfs_libc.ts`, netlink and its `/proc` probes `ffi/netns_libc.ts` and libnl, the PCI
 *   driver binder `ffi/pci_driver_libc.ts`, the state store and its `logFile` writer
 *   `ffi/state_libc.ts`, the IPAM exec `ffi/ipam_libc.ts`;
 * - each binding's symbol table grants only what its job needs (`symbolViolations`): `write` is
 *   in the driver binder's and the state store's tables, and in the IPAM exec's for the pipe to
 *   its child's stdin; only the IPAM exec's table can start a process;
 * - only those two bindings call libc's write wrappers (the driver binding writes `bind` and
 *   `unbind` files only, checked at run time and in tests/unit/ffi/libc_wrappers_test.ts), so the
 *   plugin's files are written by lib/state/ alone; Deno's file-writing APIs only by `install`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { NETNS_LIBC_SYMBOLS } from "../../ffi/netns_libc.ts";
import { PCI_DRIVER_LIBC_SYMBOLS } from "../../ffi/pci_driver_libc.ts";
import { STATE_LIBC_SYMBOLS } from "../../ffi/state_libc.ts";
import { IPAM_LIBC_SYMBOLS } from "../../ffi/ipam_libc.ts";
import { SYSFS_LIBC_SYMBOLS } from "../../ffi/sysfs_libc.ts";
import { LIBNL_SYMBOLS } from "../../ffi/libnl_symbols.ts";
import { LIBNL_ROUTE_SYMBOLS } from "../../ffi/libnl_route_symbols.ts";

/** One finding: `file:line: rule (matched text)`. */
interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** A rule that a pattern may only match in the files `allowed` accepts. */
interface Rule {
  name: string;
  /** Global regex over comment-free code; each match is one use. */
  pattern: RegExp;
  allowed(file: string): boolean;
  /** Extra filter on a match (for `Deno.open`, whether it writes). */
  counts?(code: string, match: RegExpExecArray): boolean;
}

const under = (...dirs: string[]) => (file: string) => dirs.some((d) => file.startsWith(d));

/** Words after which `/` starts a regex literal rather than a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);

function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

/** Whether a `/` at this point of `code` (comments already blanked) starts a regex literal. */
function regexAllowed(code: string): boolean {
  const before = code.trimEnd();
  if (before === "") return true;
  const last = before[before.length - 1]!;
  if ("(,=:[!&|?{};+-*%<>~^".includes(last)) return true;
  const word = /[A-Za-z_$][\w$]*$/.exec(before);
  return word !== null && REGEX_AFTER_WORD.has(word[0]);
}

/** The end (exclusive) of a quoted string starting at `start` (the quote). */
function stringEnd(src: string, start: number): number {
  const quote = src[start];
  let j = start + 1;
  while (j < src.length && src[j] !== quote && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
  return Math.min(j + 1, src.length);
}

/** The end (exclusive) of a regex literal starting at `start` (the slash), flags included. */
function regexEnd(src: string, start: number): number {
  let j = start + 1;
  let inClass = false;
  while (j < src.length && src[j] !== "\n") {
    const c = src[j];
    if (c === "\\") j += 2;
    else {
      if (c === "[") inClass = true;
      else if (c === "]") inClass = false;
      else if (c === "/" && !inClass) break;
      j += 1;
    }
  }
  j += 1;
  while (j < src.length && /[a-z]/.test(src[j]!)) j += 1;
  return Math.min(j, src.length);
}

/**
 * Scans template text from `start` (just after "`" or after the `}` closing a `${…}`).
 * Returns where it stopped and whether that was the closing backtick (else a `${`).
 */
function templateEnd(src: string, start: number): { end: number; closed: boolean } {
  let j = start;
  while (j < src.length) {
    if (src[j] === "\\") j += 2;
    else if (src[j] === "`") return { end: j + 1, closed: true };
    else if (src[j] === "$" && src[j + 1] === "{") return { end: j + 2, closed: false };
    else j += 1;
  }
  return { end: src.length, closed: true };
}

/**
 * Blanks `//` and `/* *\/` comments (JSDoc included) with spaces, keeping newlines, so offsets
 * and line numbers stay those of the source. Strings, template literals and regex literals are
 * kept as they are, and comment markers inside them are not comments.
 *
 * @param src TypeScript source
 * @returns the source with every comment blanked
 */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  // One entry per open `${`: how many `{` opened inside it are still open.
  const templates: number[] = [];
  const copy = (end: number) => {
    out += src.slice(i, end);
    i = end;
  };
  const resumeTemplate = () => {
    const { end, closed } = templateEnd(src, i);
    copy(end);
    if (!closed) templates.push(0);
  };
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const nl = src.indexOf("\n", i);
      const end = nl < 0 ? src.length : nl;
      out += blank(src.slice(i, end));
      i = end;
    } else if (c === "/" && next === "*") {
      const close = src.indexOf("*/", i + 2);
      const end = close < 0 ? src.length : close + 2;
      out += blank(src.slice(i, end));
      i = end;
    } else if (c === '"' || c === "'") {
      copy(stringEnd(src, i));
    } else if (c === "`") {
      out += c;
      i += 1;
      resumeTemplate();
    } else if (c === "/" && regexAllowed(out)) {
      copy(regexEnd(src, i));
    } else if (c === "{" && templates.length > 0) {
      templates[templates.length - 1]! += 1;
      copy(i + 1);
    } else if (c === "}" && templates.length > 0 && templates[templates.length - 1] === 0) {
      templates.pop();
      copy(i + 1);
      resumeTemplate();
    } else {
      if (c === "}" && templates.length > 0) templates[templates.length - 1]! -= 1;
      copy(i + 1);
    }
  }
  return out;
}

function lineOf(code: string, index: number): number {
  let line = 1;
  for (let k = code.indexOf("\n"); k >= 0 && k < index; k = code.indexOf("\n", k + 1)) line += 1;
  return line;
}

/** The text between the `(` at `open` and its matching `)`. */
function callArguments(code: string, open: number): string {
  let depth = 0;
  for (let j = open; j < code.length; j += 1) {
    if (code[j] === "(") depth += 1;
    else if (code[j] === ")" && --depth === 0) return code.slice(open + 1, j);
  }
  return code.slice(open + 1);
}

/**
 * Whether a `Deno.open`/`Deno.openSync` call may write: its options ask for it, or they are
 * not an object literal the scanner can read (then it counts, to be safe).
 */
function opensForWriting(code: string, match: RegExpExecArray): boolean {
  const args = callArguments(code, code.indexOf("(", match.index + match[0].length));
  if (args.includes("{")) {
    return /\b(write|append|create|createNew|truncate)\s*:\s*(?!false\b)/.test(args);
  }
  return args.includes(",");
}

/**
 * Deno's file-writing APIs. The plugin's own files go through lib/state/'s confined handle and
 * `ffi/state_libc.ts`, which only lib/state/ imports; the one writer left on Deno's APIs is
 * `ib-sriov install` (lib/tool/installer.ts), whose files are the CNI bin directory's, no state.
 */
const STATE = "only lib/tool/installer.ts writes files with Deno's APIs";
const INSTALLER = (file: string) => file === "lib/tool/installer.ts";
const NODE_RULE = "no static node: import (it would load Deno's Node layer at every start)";
const CODES_RULE = "in lib/plugin/ and lib/ipam/, only lib/plugin/to_cni_error.ts picks CNI codes";

/** The rule on naming `/sys` and `/proc`, and the two files outside its folders it allows. */
const SYS_PROC =
  "only lib/sysfs/, ffi/, lib/netlink/netns.ts and lib/netlink/libc_pci_driver.ts name /sys or /proc";

/** The files of ffi/ that may call libc's write wrappers: the two writers and the shared helper. */
const WRITERS = ["ffi/_libc.ts", "ffi/state_libc.ts", "ffi/pci_driver_libc.ts"];
const WRITE_WRAPPER_RULE = "only ffi/state_libc.ts and ffi/pci_driver_libc.ts call libc's write " +
  "wrappers (openat2, writeAll, writeText, mkdirat, renameat, unlinkat)";

/**
 * The per-file rules. `lib/netlink/netns.ts` may name `/proc` because it opens
 * `/proc/thread-self/ns/net`: the calling thread's own network namespace, which is what a
 * `setns()` on the main thread changes and what it must switch back to; lib/sysfs cannot do that
 * for it, since switching namespaces is netlink's privilege, not a sysfs read.
 * `lib/netlink/libc_pci_driver.ts` may name `/sys` because writing a PCI address to a driver's
 * `bind` or `unbind` file is a kernel change, WRITE privilege, not a sysfs read.
 */
const RULES: Rule[] = [
  {
    // deno bundle hoists every static import to the bundle's start, so one anywhere (the tool
    // included) loads Deno's Node layer at every plugin run (~5 ms); import("node:…") when used.
    name: NODE_RULE,
    pattern: /\bfrom\s*["']node:[^"']*["']/g,
    allowed: () => false,
  },
  {
    name: "only ffi/ calls Deno.dlopen",
    pattern: /\bDeno\.dlopen\b/g,
    allowed: under("ffi/"),
  },
  {
    name: "only lib/ipam/ starts processes",
    pattern: /\bDeno\.(Command|run)\b|["']node:child_process["']|\b(posix_spawn|runPiped)\b/g,
    // ffi/ipam_libc.ts declares posix_spawn, wraps it (runPiped) and binds it for lib/ipam/ alone.
    allowed: (file) => under("lib/ipam/")(file) || file === "ffi/ipam_libc.ts",
  },
  {
    name: STATE,
    pattern:
      /\bDeno\.(writeFile|writeTextFile|mkdir|remove|rename|chmod|chown|makeTempDir|makeTempFile|symlink|link|copyFile|truncate|create|utime)(Sync)?\b|["']node:fs(\/promises)?["']/g,
    allowed: INSTALLER,
  },
  {
    name: STATE,
    pattern: /\bDeno\.open(Sync)?(?=\s*\()/g,
    allowed: INSTALLER,
    counts: opensForWriting,
  },
  {
    name: SYS_PROC,
    pattern: /["'`]\/(sys|proc)\b/g,
    allowed: (file) =>
      under("lib/sysfs/", "ffi/")(file) || file === "lib/netlink/netns.ts" ||
      file === "lib/netlink/libc_pci_driver.ts",
  },
  {
    name: "only cli.ts touches the process (exit, env, args, stdio, console)",
    pattern:
      /\bDeno\.(exit|env|args|stdin|stdout|stderr)\b|\bconsole\.|\bprocess\.(exit|env|argv|stdin|stdout|stderr)\b/g,
    allowed: (file) => file === "cli.ts",
  },
  {
    name: WRITE_WRAPPER_RULE,
    pattern: /\b(openat2|writeAll|writeText|mkdirat|renameat|unlinkat)\b/g,
    allowed: (file) => !file.startsWith("ffi/") || WRITERS.includes(file),
  },
  {
    // dlsym reaches any function of the process: it stays inside the loader, which looks up
    // only the names of a binding's table.
    name: "only ffi/lazy_symbols.ts calls the dynamic linker (dlsym)",
    pattern: /\bdlsym\b/g,
    allowed: (file) => file === "ffi/lazy_symbols.ts",
  },
  {
    name: "no nonblocking FFI symbol (netns is per thread)",
    pattern: /\bnonblocking\s*:\s*true\b/g,
    allowed: (file) => !file.startsWith("ffi/"),
  },
  {
    // Plugin files name the kind of a failure (deviceError, kernelError, ...), and the IPAM exec
    // its IpamError kind: each kind's code is written once.
    name: CODES_RULE,
    pattern: /\bCniErrorCode\b/g,
    allowed: (file) =>
      !under("lib/plugin/", "lib/ipam/")(file) || file === "lib/plugin/to_cni_error.ts",
  },
];

/**
 * Checks one file against {@link RULES}.
 *
 * @param file path from the repository root, `/`-separated (`lib/plugin/add.ts`)
 * @param source the file's text
 * @returns every use of a pattern outside the files its rule allows
 */
function scanSource(file: string, source: string): Violation[] {
  const code = stripComments(source);
  const found: Violation[] = [];
  for (const rule of RULES) {
    if (rule.allowed(file)) continue;
    for (const match of code.matchAll(rule.pattern)) {
      if (rule.counts !== undefined && !rule.counts(code, match)) continue;
      found.push({ file, line: lineOf(code, match.index), rule: rule.name, text: match[0] });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

const PURE = ["lib/cni/", "lib/config/"];
const PRIVILEGED = ["lib/sysfs/", "lib/netlink/", "lib/ipam/", "lib/state/", "ffi/"];
const PURE_RULE = "lib/cni/ and lib/config/ are pure: no import reaches lib/sysfs, lib/netlink, " +
  "lib/ipam, lib/state or ffi/";

/** Relative imports and re-exports of a file: `[specifier, line]`. */
function relativeImports(source: string): [string, number][] {
  const code = stripComments(source);
  const found: [string, number][] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*(["'])(\.{1,2}\/[^"'\n]+)\1/gm,
    /^\s*import\s*(["'])(\.{1,2}\/[^"'\n]+)\1/gm,
    /\bimport\s*\(\s*(["'])(\.{1,2}\/[^"'\n]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) {
      found.push([m[2]!, lineOf(code, m.index + m[0].lastIndexOf(m[2]!))]);
    }
  }
  return found;
}

/**
 * Follows the imports of every file in lib/cni/ and lib/config/, transitively, and reports each
 * import that reaches a privileged folder: at the file and line of that import, with the pure
 * file it was reached from.
 *
 * @param files every production file, path from the repository root to text
 * @returns the violations of {@link PURE_RULE}
 */
function pureImportViolations(files: ReadonlyMap<string, string>): Violation[] {
  const found = new Map<string, Violation>();
  for (const root of [...files.keys()].filter(under(...PURE)).sort()) {
    const seen = new Set<string>([root]);
    const queue = [root];
    while (queue.length > 0) {
      const file = queue.shift()!;
      for (const [spec, line] of relativeImports(files.get(file) ?? "")) {
        const target = posix.normalize(posix.join(posix.dirname(file), spec));
        if (under(...PRIVILEGED)(target)) {
          const text = file === root ? target : `${target}, reached from ${root}`;
          // Keep the shortest story: the file's own import, else the first pure file that reached it.
          const key = `${file}:${line}`;
          if (file === root || !found.has(key)) {
            found.set(key, { file, line, rule: PURE_RULE, text });
          }
        } else if (!seen.has(target) && files.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      }
    }
  }
  return [...found.values()];
}

/** Who may import a file of `ffi/`: its owner, the one module whose job its native calls serve. */
interface Binding {
  /** The files of the binding. */
  files: string[];
  /** The owner, for messages: `lib/sysfs/`. */
  owner: string;
  /** Whether `file` may import the binding's files. */
  owns(file: string): boolean;
}

const LIBNL_FILES = [
  "ffi/libnl.ts",
  "ffi/rtnetlink.ts",
  "ffi/unwrap.ts",
  "ffi/rdma_socket.ts",
  "ffi/netlink_message.ts",
];

/**
 * Every file of `ffi/` and who may import it. A file missing here is a violation too, so a new
 * binding cannot slip in unowned.
 */
const BINDINGS: Binding[] = [
  { files: ["ffi/sysfs_libc.ts"], owner: "lib/sysfs/", owns: under("lib/sysfs/") },
  { files: ["ffi/netns_libc.ts"], owner: "lib/netlink/", owns: under("lib/netlink/") },
  {
    files: ["ffi/pci_driver_libc.ts"],
    owner: "lib/netlink/libc_pci_driver.ts",
    owns: (file) => file === "lib/netlink/libc_pci_driver.ts",
  },
  { files: ["ffi/state_libc.ts"], owner: "lib/state/", owns: under("lib/state/") },
  { files: ["ffi/ipam_libc.ts"], owner: "lib/ipam/", owns: under("lib/ipam/") },
  {
    files: LIBNL_FILES,
    owner: "lib/netlink/",
    owns: (file) => under("lib/netlink/")(file) || LIBNL_FILES.includes(file),
  },
  {
    // The loaders, the shared declarations and the C string helpers: ffi/ builds bindings of them.
    files: [
      "ffi/_libc.ts",
      "ffi/lazy_symbols.ts",
      "ffi/libnl_symbols.ts",
      "ffi/libnl_route_symbols.ts",
      "ffi/c_string.ts",
    ],
    owner: "ffi/",
    owns: under("ffi/"),
  },
  // Errno names and LibcError: no native call, so any module may tell errors apart with them.
  { files: ["ffi/errno.ts"], owner: "any module", owns: () => true },
];

const BINDING_RULE = "a module imports only its own binding from ffi/";

/**
 * Checks every import of an `ffi/` file against {@link BINDINGS}.
 *
 * @param files every production file, path from the repository root to text
 * @returns one violation per import of another module's binding, and per unowned ffi/ file
 */
function bindingViolations(files: ReadonlyMap<string, string>): Violation[] {
  const bindingOf = (target: string) => BINDINGS.find((b) => b.files.includes(target));
  const found: Violation[] = [];
  for (const [file, source] of files) {
    if (file.startsWith("ffi/") && bindingOf(file) === undefined) {
      found.push({ file, line: 1, rule: BINDING_RULE, text: "an ffi/ file without an owner" });
    }
    for (const [spec, line] of relativeImports(source)) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      if (!target.startsWith("ffi/")) continue;
      const binding = bindingOf(target);
      if (binding !== undefined && binding.owns(file)) continue;
      const owner = binding === undefined ? "no owner" : `${binding.owner}'s binding`;
      found.push({ file, line, rule: BINDING_RULE, text: `${target}, ${owner}` });
    }
  }
  return found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** One module's native symbol table and the symbols its job needs. */
interface SymbolJob {
  /** The table's name and file, for messages. */
  table: string;
  /** The symbols the table grants. */
  symbols: Deno.ForeignLibraryInterface;
  /** Whether the job needs `name`. */
  needs(name: string): boolean;
}

const only = (...names: string[]) => (name: string) => names.includes(name);

/** libc calls that start, signal or reap processes: the IPAM exec's job alone. */
const STARTS_PROCESSES = /^(posix_spawn|fork|vfork|exec|system|popen|kill|wait|pidfd_)/;
/** libc calls that change the thread's namespace: the netns switch's job alone. */
const SWITCHES_NETNS = /^(setns|unshare|clone)/;
/** libc calls that name, create, change or remove files by path: never the IPAM exec's job. */
const OPENS_PATHS =
  /^(open|creat|mkdir|mknod|rename|unlink|rmdir|link|symlink|truncate|chmod|chown|syscall)/;

/**
 * The jobs ("folder = privilege"): the sysfs reader reads and never writes; the netns switch
 * opens handles read-only, compares and probes them, and calls setns(); the driver binder writes
 * an existing file; the log file writer appends to one; the IPAM exec starts, feeds, reads,
 * waits for and kills one child, which inherits the environment; netlink gets libnl core and
 * route.
 */
const SYMBOL_JOBS: SymbolJob[] = [
  {
    table: "SYSFS_LIBC_SYMBOLS (ffi/sysfs_libc.ts)",
    symbols: SYSFS_LIBC_SYMBOLS,
    needs: only("open", "read", "readlink", "close", "opendir", "readdir", "closedir", "faccessat"),
  },
  {
    table: "NETNS_LIBC_SYMBOLS (ffi/netns_libc.ts)",
    symbols: NETNS_LIBC_SYMBOLS,
    needs: only("open", "close", "setns", "fstatfs", "fstat", "faccessat"),
  },
  {
    table: "PCI_DRIVER_LIBC_SYMBOLS (ffi/pci_driver_libc.ts)",
    symbols: PCI_DRIVER_LIBC_SYMBOLS,
    needs: only("open", "write", "close"),
  },
  {
    table: "STATE_LIBC_SYMBOLS (ffi/state_libc.ts)",
    symbols: STATE_LIBC_SYMBOLS,
    needs: (name) => !STARTS_PROCESSES.test(name) && !SWITCHES_NETNS.test(name),
  },
  {
    table: "LIBNL_SYMBOLS (ffi/libnl_symbols.ts)",
    symbols: LIBNL_SYMBOLS,
    needs: (name) => /^(nl|nla|nlmsg)_/.test(name),
  },
  {
    table: "LIBNL_ROUTE_SYMBOLS (ffi/libnl_route_symbols.ts)",
    symbols: LIBNL_ROUTE_SYMBOLS,
    needs: (name) => /^rtnl_/.test(name),
  },
  {
    table: "IPAM_LIBC_SYMBOLS (ffi/ipam_libc.ts)",
    symbols: IPAM_LIBC_SYMBOLS,
    needs: (name) => !OPENS_PATHS.test(name) && !SWITCHES_NETNS.test(name),
  },
];

/**
 * The symbols a table grants beyond its job.
 *
 * @param job the table and its job
 * @returns one line per symbol outside the job
 */
function symbolViolations(job: SymbolJob): string[] {
  return Object.keys(job.symbols).filter((name) => !job.needs(name))
    .map((name) => `${job.table} grants ${name}, outside its job`);
}

function describe(violations: Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.rule} (${v.text})`).join("\n");
}

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The production files: cli.ts, mod.ts and the TypeScript/JavaScript under lib/ and ffi/. */
function productionFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const add = (path: string) => {
    const key = relative(REPO, path).split(sep).join("/");
    files.set(key, Deno.readTextFileSync(path));
  };
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && /\.(ts|js|mjs)$/.test(entry.name)) add(path);
    }
  };
  add(join(REPO, "cli.ts"));
  add(join(REPO, "mod.ts"));
  walk(join(REPO, "lib"));
  walk(join(REPO, "ffi"));
  return files;
}

const FILES = productionFiles();

// --- the scanner itself ---------------------------------------------------------------------

Deno.test("stripComments() blanks comments and JSDoc, keeps strings, templates and regexes", () => {
  const src = [
    "/**",
    " * Reads /sys. Deno.exit(1)",
    " */",
    'const a = "/sys/x"; // Deno.dlopen here',
    "const b = `${a} /* not a comment */ ${`//${'x'}`}`; /* gone */",
    "const c = /\\/\\/[/*]/g.test(a) ? 1 / 2 : 3; // gone too",
    "const d = '// kept';",
  ].join("\n");
  const out = stripComments(src);
  // Blanked, not removed: offsets and line numbers stay those of the source.
  assert.equal(out.length, src.length);
  assert.deepEqual(out.split("\n").map((line) => line.trimEnd()), [
    "",
    "",
    "",
    'const a = "/sys/x";',
    "const b = `${a} /* not a comment */ ${`//${'x'}`}`;",
    "const c = /\\/\\/[/*]/g.test(a) ? 1 / 2 : 3;",
    "const d = '// kept';",
  ]);
});

Deno.test("scanSource() names the file, the line and the rule of each violation", () => {
  const src = [
    "// Deno.dlopen and /sys in a comment do not count",
    'const lib = Deno.dlopen("libc.so.6", {});',
    "/** Deno.exit(1) */",
    'const path = "/sys/bus/pci/devices";',
    "await new Deno.Command('host-local').output();",
    'Deno.writeTextFileSync("/tmp/x", "");',
    "using f = Deno.openSync(p, { read: true, write: true });",
    "using g = Deno.openSync(p, { read: true });",
    "console.log(path);",
    "const sym = { parameters: [], result: 'i32', nonblocking: true };",
    "const write = linker.dlsym(handle, name);",
    'import { inspect } from "node:util";',
    "const rc = sym.posix_spawn(pid, path, actions, attr, argv, envp);",
  ].join("\n");
  assert.equal(
    describe(scanSource("lib/plugin/x.ts", src)),
    [
      "lib/plugin/x.ts:2: only ffi/ calls Deno.dlopen (Deno.dlopen)",
      `lib/plugin/x.ts:4: ${SYS_PROC} ("/sys)`,
      "lib/plugin/x.ts:5: only lib/ipam/ starts processes (Deno.Command)",
      `lib/plugin/x.ts:6: ${STATE} (Deno.writeTextFileSync)`,
      `lib/plugin/x.ts:7: ${STATE} (Deno.openSync)`,
      "lib/plugin/x.ts:9: only cli.ts touches the process (exit, env, args, stdio, console) (console.)",
      "lib/plugin/x.ts:11: only ffi/lazy_symbols.ts calls the dynamic linker (dlsym) (dlsym)",
      `lib/plugin/x.ts:12: ${NODE_RULE} (from "node:util")`,
      "lib/plugin/x.ts:13: only lib/ipam/ starts processes (posix_spawn)",
    ].join("\n"),
  );
  assert.equal(
    describe(scanSource("ffi/x.ts", src)),
    [
      "ffi/x.ts:5: only lib/ipam/ starts processes (Deno.Command)",
      `ffi/x.ts:6: ${STATE} (Deno.writeTextFileSync)`,
      `ffi/x.ts:7: ${STATE} (Deno.openSync)`,
      "ffi/x.ts:9: only cli.ts touches the process (exit, env, args, stdio, console) (console.)",
      "ffi/x.ts:10: no nonblocking FFI symbol (netns is per thread) (nonblocking: true)",
      "ffi/x.ts:11: only ffi/lazy_symbols.ts calls the dynamic linker (dlsym) (dlsym)",
      `ffi/x.ts:12: ${NODE_RULE} (from "node:util")`,
      "ffi/x.ts:13: only lib/ipam/ starts processes (posix_spawn)",
    ].join("\n"),
  );
});

Deno.test("scanSource() allows /proc in lib/netlink/netns.ts only, and open() options it cannot read count as writes", () => {
  const src = 'const p = "/proc/thread-self/ns/net";\nDeno.open(p, options);\n';
  assert.deepEqual(scanSource("lib/netlink/netns.ts", src).map((v) => v.line), [2]);
  assert.deepEqual(scanSource("lib/netlink/libnl_netlink.ts", src).map((v) => v.line), [1, 2]);
});

Deno.test("scanSource() allows /sys in lib/netlink/libc_pci_driver.ts, not elsewhere in lib/netlink", () => {
  const src = 'const DRIVERS_DIR = "/sys/bus/pci/drivers";\n';
  assert.deepEqual(scanSource("lib/netlink/libc_pci_driver.ts", src), []);
  assert.deepEqual(scanSource("lib/netlink/rdma.ts", src).map((v) => v.rule), [SYS_PROC]);
});

Deno.test("scanSource() allows CniErrorCode in lib/plugin/to_cni_error.ts, not in other plugin or IPAM files", () => {
  const src = "throw new CniError(CniErrorCode.DeviceError, msg);\n";
  assert.deepEqual(scanSource("lib/plugin/to_cni_error.ts", src), []);
  assert.deepEqual(scanSource("lib/cni/env.ts", src), []);
  assert.equal(
    describe([...scanSource("lib/plugin/add.ts", src), ...scanSource("lib/ipam/x.ts", src)]),
    [
      `lib/plugin/add.ts:1: ${CODES_RULE} (CniErrorCode)`,
      `lib/ipam/x.ts:1: ${CODES_RULE} (CniErrorCode)`,
    ].join("\n"),
  );
});

Deno.test("pureImportViolations() follows imports from lib/config/ to a privileged folder", () => {
  const files = new Map([
    ["lib/config/a.ts", 'import { x } from "../cni/b.ts";\nimport { y } from "../guid.ts";\n'],
    ["lib/cni/b.ts", '// import "../state/c.ts"\nexport const x = 1;\n'],
    ["lib/guid.ts", 'export const y = 1;\nexport {\n  z,\n} from "./sysfs/libc_sysfs.ts";\n'],
    ["lib/sysfs/libc_sysfs.ts", "export const z = 1;\n"],
  ]);
  assert.equal(
    describe(pureImportViolations(files)),
    `lib/guid.ts:4: ${PURE_RULE} (lib/sysfs/libc_sysfs.ts, reached from lib/config/a.ts)`,
  );
});

Deno.test("bindingViolations() reports an import of another module's binding and an unowned ffi/ file", () => {
  const files = new Map([
    ["lib/sysfs/libc_sysfs.ts", 'import { readText } from "../../ffi/sysfs_libc.ts";\n'],
    ["lib/plugin/x.ts", '\nimport { writeAll } from "../../ffi/state_libc.ts";\n'],
    ["lib/sysfs/y.ts", 'import { writeText } from "../../ffi/pci_driver_libc.ts";\n'],
    ["cli.ts", 'const libc = await import("./ffi/_libc.ts");\n'],
    ["lib/state/z.ts", 'import { LibcError } from "../../ffi/errno.ts";\n'],
    ["ffi/sysfs_libc.ts", 'import { open } from "./netns_libc.ts";\n'],
    ["ffi/raw.ts", "export const x = 1;\n"],
  ]);
  assert.equal(
    describe(bindingViolations(files)),
    [
      `cli.ts:1: ${BINDING_RULE} (ffi/_libc.ts, ffi/'s binding)`,
      `ffi/raw.ts:1: ${BINDING_RULE} (an ffi/ file without an owner)`,
      `ffi/sysfs_libc.ts:1: ${BINDING_RULE} (ffi/netns_libc.ts, lib/netlink/'s binding)`,
      `lib/plugin/x.ts:2: ${BINDING_RULE} (ffi/state_libc.ts, lib/state/'s binding)`,
      `lib/sysfs/y.ts:1: ${BINDING_RULE} (ffi/pci_driver_libc.ts, lib/netlink/libc_pci_driver.ts's binding)`,
    ].join("\n"),
  );
});

Deno.test("symbolViolations() reports a symbol outside the job, such as write in the sysfs reader's table", () => {
  const sysfs = SYMBOL_JOBS[0]!;
  const write = { parameters: ["i32", "buffer", "usize"], result: "isize" } as const;
  assert.deepEqual(symbolViolations({ ...sysfs, symbols: { ...sysfs.symbols, write } }), [
    "SYSFS_LIBC_SYMBOLS (ffi/sysfs_libc.ts) grants write, outside its job",
  ]);
  const route = SYMBOL_JOBS[5]!;
  assert.deepEqual(
    symbolViolations({ ...route, symbols: { ...route.symbols, nl_socket_alloc: write } }),
    ["LIBNL_ROUTE_SYMBOLS (ffi/libnl_route_symbols.ts) grants nl_socket_alloc, outside its job"],
  );
});

Deno.test("scanSource() allows libc's write wrappers in the two writer bindings of ffi/ only", () => {
  const src = "libc.writeText(openPciDriverLibc(), path, text);\n";
  assert.deepEqual(scanSource("ffi/pci_driver_libc.ts", src), []);
  assert.equal(
    describe(scanSource("ffi/sysfs_libc.ts", src)),
    `ffi/sysfs_libc.ts:1: ${WRITE_WRAPPER_RULE} (writeText)`,
  );
});

// --- the production code ------------------------------------------------------------------

Deno.test("scanSource() sees the production code: it finds the allowed uses where they are", () => {
  // Proves the scan is not blind: with every file allowed, the real uses show up.
  const lines = (file: string, ruleName: string) =>
    scanSource(file.replace(/^[^/]+\//, "elsewhere/"), FILES.get(file) ?? "")
      .filter((v) => v.rule === ruleName).length;
  assert.ok(FILES.size > 20, `only ${FILES.size} production files found under ${REPO}`);
  assert.ok(lines("ffi/lazy_symbols.ts", "only ffi/ calls Deno.dlopen") > 0);
  assert.ok(lines("lib/ipam/exec_ipam.ts", "only lib/ipam/ starts processes") > 0);
  assert.ok(lines("lib/tool/installer.ts", STATE) > 0);
  assert.ok(lines("lib/netlink/netns.ts", SYS_PROC) > 0);
  assert.ok(lines("lib/netlink/libc_pci_driver.ts", SYS_PROC) > 0);
});

for (const name of new Set(RULES.map((r) => r.name))) {
  Deno.test(`production code: ${name}`, () => {
    const violations = [...FILES].flatMap(([file, source]) =>
      scanSource(file, source).filter((v) => v.rule === name)
    );
    assert.equal(describe(violations), "");
  });
}

Deno.test(`production code: ${BINDING_RULE}`, () => {
  assert.equal(describe(bindingViolations(FILES)), "");
  // Not blind: every binding but errno.ts is imported somewhere, by its owner.
  const imported = [...FILES].flatMap(([file, source]) =>
    relativeImports(source).map(([spec]) => posix.normalize(posix.join(posix.dirname(file), spec)))
  );
  for (const binding of BINDINGS.filter((b) => b.owner !== "any module")) {
    for (const file of binding.files) {
      assert.ok(imported.includes(file), `${file} is imported by no production file`);
    }
  }
});

for (const job of SYMBOL_JOBS) {
  Deno.test(`production code: ${job.table} grants only what its job needs`, () => {
    assert.ok(Object.keys(job.symbols).length > 0);
    assert.deepEqual(symbolViolations(job), []);
  });
}

Deno.test(`production code: ${PURE_RULE}`, () => {
  assert.equal(describe(pureImportViolations(FILES)), "");
});
