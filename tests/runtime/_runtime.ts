/**
 * Helpers of the runtime tier: running commands, installing the bundle the way the image does,
 * and mounts that the tests undo.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { installFlags } from "../../tools/permissions.ts";
import { mountNamespaceCommand } from "../e2e/sim.ts";

/** The repository's root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The bundle `make bundle` writes; the tier runs (and installs) this. */
export const BUNDLE = `${REPO}build/ib-sriov.js`;

/** What a command printed and how it ended. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end.
 *
 * @param argv the command line
 * @param options stdin text, a whole environment (else the test's own), a working directory
 * @returns its exit status and output
 */
export async function run(
  argv: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<Ran> {
  const [cmd, ...args] = argv;
  const child = new Deno.Command(cmd!, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: options.env, clearEnv: true }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * Runs a command that must succeed.
 *
 * @throws {Error} naming the command and its stderr when it fails
 */
export async function must(
  argv: readonly string[],
  options: { stdin?: string } = {},
): Promise<string> {
  const out = await run(argv, options);
  if (out.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${out.code}: ${out.stderr.trim()}`);
  }
  return out.stdout;
}

/**
 * `ib-sriov install` from the bundle, with the flags the image's entrypoint gives it.
 *
 * @param dir `--cni-bin-dir`
 * @param args more arguments (`--no-sleep`, `--host-cni-bin-dir`)
 * @returns the installer's exit status and output
 */
export function installBundle(dir: string, args: readonly string[] = ["--no-sleep"]): Promise<Ran> {
  const flags = installFlags([dirname(BUNDLE), dirname(Deno.execPath())], dir);
  return run([
    Deno.execPath(),
    "run",
    "--no-config",
    "--no-prompt",
    "--quiet",
    ...flags,
    BUNDLE,
    "install",
    "--cni-bin-dir",
    dir,
    ...args,
  ]);
}

/**
 * The JSON lines a command wrote on stderr.
 *
 * @param stderr its stderr
 * @returns one object per line
 */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.trimEnd().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/**
 * Names in `dir`, subdirectories listed with a trailing `/` and their entries as `sub/name`.
 *
 * @param dir a directory
 * @returns the sorted names
 */
export async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    names.push(e.isDirectory ? `${e.name}/` : e.name);
    if (e.isDirectory) {
      for await (const f of Deno.readDir(`${dir}/${e.name}`)) names.push(`${e.name}/${f.name}`);
    }
  }
  return names.sort();
}

/** A tmpfs mounted on a fresh temp dir, unmounted and removed on dispose. */
export async function tmpfs(options: string): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "ib-sriov-tmpfs-" });
  await must(["mount", "-t", "tmpfs", "-o", options, "ib-sriov-test", dir]);
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await must(["umount", dir]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs the plugin installed in `dir` as a runtime on the node runs it: as `/opt/cni/bin/ib-sriov`
 * (a bind mount of `dir`, in a mount namespace of its own), with a bare environment whose PATH
 * has no Deno.
 *
 * @param dir the CNI bin dir the plugin was installed into (with `--host-cni-bin-dir /opt/cni/bin`)
 * @param env the CNI variables
 * @param stdin the config
 * @returns the plugin's exit status and output
 */
export async function runInstalled(
  dir: string,
  env: Record<string, string>,
  stdin: string,
): Promise<Ran> {
  await Deno.mkdir("/opt/cni/bin", { recursive: true });
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const plugin = [
    "env",
    "-i",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    ...vars,
    "/opt/cni/bin/ib-sriov",
  ];
  return await run(mountNamespaceCommand([[dir, "/opt/cni/bin"]], plugin), { stdin });
}

/** What the plugin answers to VERSION. */
export const VERSION_ANSWER = {
  cniVersion: "1.1.0",
  supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
};
