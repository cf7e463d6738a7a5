/**
 * The permission flags of the production plugin: the one list that `deno compile` and the
 * bundle's shebang both use.
 *
 * - FFI is unscoped because Deno refuses pointer APIs under a scoped grant; libnl and libc are
 *   reached by soname, and `/sys` and `/proc` are read through libc because Deno's file APIs
 *   refuse them without `--allow-all`.
 * - Running processes is unscoped because IPAM plugins are found in CNI_PATH, known at run time.
 *   A started IPAM plugin inherits the whole environment from the OS, as libcni's delegation
 *   gives it, which needs no `--allow-env`.
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
  "--allow-run",
  "--allow-env=CNI_*",
  `--allow-read=${STATE_DIRS.join(",")}`,
  `--allow-write=${STATE_DIRS.join(",")}`,
];

/**
 * The bundle's first line. Linux keeps only the first 255 bytes of a `#!` line and drops the
 * rest without a word, which would silently cut the permission flags, so keep it short.
 *
 * @returns the shebang line, without its newline
 */
export function shebangLine(): string {
  return `#!/usr/bin/env -S deno run --no-config --no-prompt --quiet ${PERMISSION_FLAGS.join(" ")}`;
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
