/**
 * Throwaway network namespaces and veth pairs for the kernel tests, made with iproute2.
 *
 * @module
 */

/** Where `ip netns add` bind-mounts its namespaces. */
export const NETNS_DIR = "/var/run/netns";

/**
 * Runs `ip` and returns its stdout.
 *
 * @param args The arguments, e.g. `["-n", ns, "link", "show"]`.
 * @returns stdout as text.
 * @throws {Error} When `ip` exits non-zero, with its stderr.
 */
export function ip(...args: string[]): string {
  const out = new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Runs `ip -j ...` and parses its JSON.
 *
 * @param args The arguments after `-j`.
 * @returns The parsed output.
 */
export function ipJson<T>(...args: string[]): T {
  return JSON.parse(ip("-j", ...args)) as T;
}

/** A namespace made for one test. */
export interface TempNetns {
  /** Its name for `ip -n`. */
  name: string;
  /** Its path for `openNetns`. */
  path: string;
}

/** A short random suffix; names must fit IFNAMSIZ when used for links. */
export function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 6);
}

/**
 * Makes `count` namespaces named `ibsriov-test-<random>`, runs `fn`, and deletes them whatever
 * happens.
 *
 * @param count How many namespaces.
 * @param fn The test body.
 */
export async function withTempNetns(
  count: number,
  fn: (namespaces: TempNetns[]) => void | Promise<void>,
): Promise<void> {
  const namespaces: TempNetns[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `ibsriov-test-${randomSuffix()}`;
      ip("netns", "add", name);
      namespaces.push({ name, path: `${NETNS_DIR}/${name}` });
      // Loopback up, as a pod's namespace has it.
      ip("-n", name, "link", "set", "lo", "up");
    }
    await fn(namespaces);
  } finally {
    for (const ns of namespaces) ip("netns", "del", ns.name);
  }
}

/**
 * Adds a veth pair inside a namespace; both ends start down.
 *
 * @param ns The namespace's name.
 * @param name One end.
 * @param peer The other end.
 */
export function addVeth(ns: string, name: string, peer: string): void {
  ip("-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer);
}

/**
 * The ifindex of a link, as iproute2 sees it.
 *
 * @param ns The namespace's name.
 * @param name The link.
 * @returns Its ifindex.
 */
export function ifindexOf(ns: string, name: string): number {
  const [link] = ipJson<Array<{ ifindex: number }>>("-n", ns, "link", "show", "dev", name);
  if (link === undefined) throw new Error(`no link ${name} in ${ns}`);
  return link.ifindex;
}

/**
 * What a test's netlink does when a namespace switch cannot switch back: it throws, where the
 * plugin (`cli.ts`) stops the process.
 *
 * @param message what failed
 */
export function lostNetns(message: string): never {
  throw new Error(`lost netns: ${message}`);
}
