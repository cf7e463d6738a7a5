/**
 * The three POSIX path operations the plugin needs, for the plugin's own well-formed paths
 * (absolute directories, validated names). Not `node:path`: importing any `node:` module loads
 * Deno's Node compatibility layer, about 6 ms and 5 MiB at every process start (tools/bench.ts),
 * which a CNI plugin started for every pod cannot afford.
 *
 * @module
 */

/**
 * Joins path segments with `/`, dropping empty segments and repeated slashes. Unlike
 * `node:path`, it does not resolve `.` or `..`: callers pass validated names.
 */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/").replace(/\/{2,}/g, "/");
  return joined === "" ? "." : joined;
}

/** The last segment of a path, ignoring trailing slashes (`""` for `/`). */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Everything but the last segment of a path: `/` for a top-level path, `.` for a bare name. */
export function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return path.startsWith("/") ? "/" : ".";
  if (slash === 0) return "/";
  return trimmed.slice(0, slash).replace(/\/+$/, "") || "/";
}

/**
 * Whether `name` can be one component of a path: not empty, `.` or `..`, and without `/` or NUL,
 * so that joined to a directory it names an entry of that directory.
 */
export function isFileName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\0]/.test(name);
}
