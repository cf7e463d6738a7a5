// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * `make image`: the OCI image whose entrypoint is `ib-sriov install`, built `FROM scratch` with
 * Debian's podman (no registry is reachable from our build machines, and a scratch image holds
 * only what the install needs): the bundle, the Deno runtime running this script, and the shared
 * libraries that runtime loads (by `ldd`), copied from the build machine's Debian packages.
 *
 * Writes build/image/ (the build context), tags `localhost/ib-sriov:<version>` in podman's
 * storage, saves it as build/ib-sriov-image.tar (an OCI archive, for `podman load` or a
 * registry push), and prints the image's size.
 *
 * Usage: deno run -A tools/image.ts DENO_VERSION
 */
import meta from "../deno.json" with { type: "json" };
import { installFlags } from "./permissions.ts";

/** Where the image keeps its own files. */
export const IMAGE_DIR = "/ib-sriov";
/** Where the DaemonSet mounts the node's directories; the install writes only under it. */
export const HOST_MOUNT = "/host";
/** The image's name in podman's storage. */
export const IMAGE_TAG = `localhost/ib-sriov:${meta.version}`;
/** The OCI archive `make image` writes. */
export const IMAGE_ARCHIVE = "build/ib-sriov-image.tar";

const CONTEXT = "build/image";
const ROOTFS = `${CONTEXT}/rootfs`;

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${text.decode(out.stderr).trim()}`);
  }
  return text.decode(out.stdout);
}

/** The shared libraries `binary` loads, the dynamic loader included, by the paths `ldd` gives. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const libs = new Set<string>();
  for (const line of (await output("ldd", [binary])).split("\n")) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
    const path = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (path !== undefined) libs.add(path);
  }
  return [...libs].sort();
}

/** `<package> <version>` of the Debian package that holds `path`. */
async function debianPackage(path: string): Promise<string> {
  const owner = (await output("dpkg", ["-S", path])).split(":")[0]!.trim();
  const version = await output("dpkg-query", ["-W", "-f", "${Version}", owner]);
  return `${owner} ${version}`;
}

async function copyInto(from: string, to: string, mode: number): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  // Deno.copyFile follows symlinks: the image gets the library itself under the name ldd gave.
  await Deno.copyFile(from, to);
  await Deno.chmod(to, mode);
}

/** The Containerfile: the rootfs, and `deno run <install flags> ib-sriov.js install`. */
export function containerfile(): string {
  const entrypoint = [
    `${IMAGE_DIR}/deno`,
    "run",
    "--no-config",
    "--no-prompt",
    "--quiet",
    ...installFlags([IMAGE_DIR], HOST_MOUNT),
    `${IMAGE_DIR}/ib-sriov.js`,
    "install",
  ];
  return [
    "FROM scratch",
    `LABEL org.opencontainers.image.title="ib-sriov" org.opencontainers.image.version="${meta.version}"`,
    "COPY rootfs/ /",
    // Deno keeps caches under DENO_DIR; with a read-only root it cannot, which costs nothing for
    // a local bundle, but a writable default keeps it from trying the root.
    "ENV DENO_DIR=/tmp/deno NO_COLOR=1",
    `ENTRYPOINT ${JSON.stringify(entrypoint)}`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const pinned = Deno.args[0];
  if (pinned !== undefined && Deno.version.deno !== pinned) {
    console.error(
      `make image: the runtime would be Deno ${Deno.version.deno}, but the pinned version is ${pinned}: run make with the pinned deno first on PATH`,
    );
    Deno.exit(1);
  }
  const runtime = Deno.execPath();
  await Deno.remove(CONTEXT, { recursive: true }).catch(() => {});
  await copyInto("build/ib-sriov.js", `${ROOTFS}${IMAGE_DIR}/ib-sriov.js`, 0o644);
  await copyInto(runtime, `${ROOTFS}${IMAGE_DIR}/deno`, 0o755);
  const manifest = [`deno ${Deno.version.deno} ${runtime}`];
  for (const lib of await sharedLibraries(runtime)) {
    await copyInto(lib, `${ROOTFS}${lib}`, 0o755);
    manifest.push(`${lib} ${await debianPackage(lib)}`);
  }
  // What is inside and where it came from, for whoever audits the image.
  await Deno.writeTextFile(`${ROOTFS}${IMAGE_DIR}/CONTENTS`, manifest.join("\n") + "\n");
  await Deno.writeTextFile(`${CONTEXT}/Containerfile`, containerfile());
  const built = await new Deno.Command("podman", {
    args: ["build", "--quiet", "--file", `${CONTEXT}/Containerfile`, "--tag", IMAGE_TAG, CONTEXT],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!built.success) Deno.exit(1);
  await Deno.remove(IMAGE_ARCHIVE).catch(() => {});
  await output("podman", [
    "save",
    "--quiet",
    "--format",
    "oci-archive",
    "-o",
    IMAGE_ARCHIVE,
    IMAGE_TAG,
  ]);
  const size = Number(
    await output("podman", ["image", "inspect", "--format", "{{.Size}}", IMAGE_TAG]),
  );
  const archive = (await Deno.stat(IMAGE_ARCHIVE)).size;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.error(`built ${IMAGE_TAG}: ${mb(size)} (${IMAGE_ARCHIVE}: ${mb(archive)})`);
  console.error(manifest.map((l) => `  ${l}`).join("\n"));
}
