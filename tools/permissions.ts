/**
 * The permission flags of the production plugin: the one list that `deno compile` and the
 * bundle's shebang both use.
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
 * - Files: none. Every file the plugin reads or writes (state, logFile, device-info, /sys, /proc,
 *   netns paths, the operator tool's inputs) goes through libc, confined by its own checks
 *   (docs/security.md), so Deno's file APIs are left without a grant: any use of them is refused.
 *   The installer runs with flags of its own ({@linkcode installFlags}).
 */
export const PERMISSION_FLAGS: readonly string[] = ["--allow-ffi", "--allow-env=CNI_*"];

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
 *
 * `--min-semi-space-size=2` (MiB) lets a whole ADD or DEL allocate without a young-generation
 * GC. With V8's smaller default each command ran two scavenges, the first of which started V8's
 * worker threads, and one of those calibrated the TSC with 1 ms and 2 ms sleeps (there is no
 * `tsc_freq_khz` in sysfs) while the main thread waited: 3 to 4 ms of every command, and about
 * 1 MiB more peak RSS (docs/performance.md, "Before the move").
 */
export const V8_FLAGS: readonly string[] = ["--v8-flags=--no-lazy,--min-semi-space-size=2"];

/**
 * The bundle's first line: `env -S` sets `DENO_DIR` to {@linkcode DENO_CACHE_DIR}, then runs
 * Deno with {@linkcode V8_FLAGS} and {@linkcode PERMISSION_FLAGS}. Linux keeps only the first 255
 * bytes of a `#!` line and drops the rest without a word, which would silently cut the permission
 * flags, so keep it short.
 *
 * @param runtime the Deno to run: `deno` from PATH (the bundle), or the path of an installed one
 * @returns the shebang line, without its newline
 */
export function shebangLine(runtime = "deno"): string {
  return `#!/usr/bin/env -S DENO_DIR=${DENO_CACHE_DIR} ${runtime} run --no-config --no-prompt -q ${
    [...V8_FLAGS, ...PERMISSION_FLAGS].join(" ")
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
