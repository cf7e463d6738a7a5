/**
 * The permission flags of the production plugin: the one list that `deno compile` and the
 * bundle's shebang both use (the shebang in Deno's short forms).
 *
 * - FFI is unscoped because Deno refuses pointer APIs under a scoped grant; libnl and libc are
 *   reached by soname, and `/sys` and `/proc` are read through libc because Deno's file APIs
 *   refuse them without `--allow-all`.
 * - No `--allow-run`: the IPAM plugin is started with `posix_spawn` through libc (FFI, which the
 *   grant would not bind), and nothing else starts a process. It inherits the whole environment,
 *   as libcni's delegation gives it, read from libc's `environ`, which needs no `--allow-env`.
 * - Environment: the CNI variables. Nothing for the operator tool: the `yaml` package reads
 *   `LOG_TOKENS` and `LOG_STREAM` on every parse, and the tool (`cli.ts`) answers those reads
 *   itself, as unset, instead of widening the plugin's grant.
 * - Files: the cache and lock directories. Namespace paths are opened and checked through libc,
 *   like /sys and /proc, so no netns directory is granted.
 */
export const STATE_DIRS = ["/var/lib/cni/ib-sriov", "/var/run/cni/ib-sriov"] as const;

/** The flags, in the order `deno run`/`deno compile` take them. */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-ffi",
  "--allow-env=CNI_*",
  `--allow-read=${STATE_DIRS.join(",")}`,
  `--allow-write=${STATE_DIRS.join(",")}`,
];

/**
 * Deno's cache directory for the plugin (`DENO_DIR`), where the V8 code cache of the bundle lives.
 * A runtime runs the plugin without a home of its own (containerd and CRI-O: no `HOME`, so Deno
 * takes root's from the password database; on a read-only root file system none is writable),
 * and without a writable cache every start compiles the whole bundle again: about twice the
 * start-up, and 9 MiB more RSS (docs/performance.md). Under `/var/cache` (the FHS's place for a
 * cache any run may rebuild) rather than in the state directory: Deno creates a missing
 * directory 0755, and the state directory must stay 0700. When it cannot be written, Deno runs
 * without a code cache, silently.
 */
export const DENO_CACHE_DIR = "/var/cache/ib-sriov";

/**
 * The plugin's V8 flags. `--no-lazy` has V8 compile every function of the bundle when it
 * compiles the bundle, so the code cache Deno writes after the first run holds all of them.
 * Compiled lazily, a function is cached only if the run that wrote the cache called it: with an
 * ADD first after an install, every later DEL compiled its own path (the state schemas, the
 * restore) again, about 8 ms; with a VERSION or STATUS first, ADD did too. It costs about 3 ms
 * of loading the larger cache at each start (docs/performance.md).
 */
export const V8_FLAGS: readonly string[] = ["--v8-flags=--no-lazy"];

/** Deno's short forms of the flags that take values (`-R`, `-W`, `-E`): the same grants. */
const SHORT_FLAGS: readonly (readonly [string, string])[] = [
  ["--allow-read=", "-R="],
  ["--allow-write=", "-W="],
  ["--allow-env=", "-E="],
];

/**
 * {@linkcode PERMISSION_FLAGS} as the `#!` line writes them: the flags that take values in
 * Deno's short forms, 30 bytes shorter, so that the line still fits when an install points it at
 * a runtime of its own (`/opt/cni/bin/ib-sriov.d/deno` instead of `deno`).
 *
 * @returns the flags, in the same order
 */
export function shebangFlags(): string[] {
  return PERMISSION_FLAGS.map((flag) => {
    const short = SHORT_FLAGS.find(([long]) => flag.startsWith(long));
    return short === undefined ? flag : short[1] + flag.slice(short[0].length);
  });
}

/**
 * The bundle's first line: `env -S` sets `DENO_DIR` to {@linkcode DENO_CACHE_DIR}, then runs
 * Deno with {@linkcode V8_FLAGS} and the permission flags ({@linkcode shebangFlags}). Linux keeps only the first 255
 * bytes of a `#!` line and drops the rest without a word, which would silently cut the permission
 * flags, so keep it short.
 *
 * @param runtime the Deno to run: `deno` from PATH (the bundle), or the path of an installed one
 * @returns the shebang line, without its newline
 */
export function shebangLine(runtime = "deno"): string {
  return `#!/usr/bin/env -S DENO_DIR=${DENO_CACHE_DIR} ${runtime} run --no-config --no-prompt -q ${
    [...V8_FLAGS, ...shebangFlags()].join(" ")
  }`;
}

/**
 * The flags of `ib-sriov install` (the image's entrypoint, or a manual install): it reads its own
 * bundle and runtime and the CNI bin directory, and writes only under that directory. No FFI, no
 * processes, no environment: a denied `CNI_COMMAND` read is an unset one, which selects the tool.
 *
 * @param sources the directories of the bundle and the runtime
 * @param target the directory the install writes under (the CNI bin directory or a parent)
 * @returns the flags, in the order `deno run` takes them
 */
export function installFlags(sources: readonly string[], target: string): string[] {
  return [`--allow-read=${[...sources, target].join(",")}`, `--allow-write=${target}`];
}
