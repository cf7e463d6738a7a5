// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * Builds the plugin: `compile` writes build/ib-sriov (self-contained, for /opt/cni/bin),
 * `bundle` writes build/ib-sriov.js (one executable file for nodes that have Deno).
 *
 * Usage: deno run -A tools/build.ts compile|bundle
 */
import { PERMISSION_FLAGS, shebangLine, V8_FLAGS } from "./permissions.ts";

const deno = Deno.execPath();
const mode = Deno.args[0];

async function run(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  const out = await new Deno.Command(deno, { args, stdout: "inherit", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  return { ok: out.success, stderr };
}

/**
 * `deno bundle` embeds an imported `.wasm` file as base64 decoded by
 * `Uint8Array.from(atob(s), (c) => c.charCodeAt(0))`: one callback per byte, about 2 ms at every
 * start for the validator's 17 KB. `Uint8Array.fromBase64(s)` decodes the same string natively in
 * 0.03 ms. The bundle holds exactly one embedded module; anything else means `deno bundle` changed
 * how it embeds one, and the build stops rather than ship a slower start unnoticed.
 */
function fastWasmDecode(body: string): string {
  const embedded =
    /Uint8Array\.from\(atob\(("[A-Za-z0-9+/=]*")\),\s*([\w$]+)\s*=>\s*\2\.charCodeAt\(0\)\)/g;
  const found = body.match(embedded)?.length ?? 0;
  if (found !== 1) {
    console.error(
      `make bundle: expected the validator embedded once as Uint8Array.from(atob(...)), found ${found}: update fastWasmDecode() in tools/build.ts for this deno bundle`,
    );
    Deno.exit(1);
  }
  // Padded to the same length, so that the source map's columns after it still hold.
  return body.replace(
    embedded,
    (call, base64) => `Uint8Array.fromBase64(${base64})`.padEnd(call.length),
  );
}

await Deno.mkdir("build", { recursive: true });
if (mode === "compile") {
  const { ok, stderr } = await run([
    "compile",
    "--quiet",
    ...V8_FLAGS,
    ...PERMISSION_FLAGS,
    "--output",
    "build/ib-sriov",
    "cli.ts",
  ]);
  if (!ok) {
    // deno compile fetches its `denort` runtime on first use; on a machine that cannot reach
    // Deno's download host that is the usual failure, and its raw error is a stack of DNS errors.
    if (
      /denort|download|dns error|lookup address/i.test(stderr) &&
      Deno.env.get("DENORT_BIN") === undefined
    ) {
      console.error(
        "make build: deno compile could not get Deno's denort runtime (it downloads it on first use and this machine cannot reach the download); set DENORT_BIN to a denort 2.9.6 binary, or use `make bundle`.",
      );
    } else {
      console.error(stderr.trim());
    }
    Deno.exit(1);
  }
  console.error("wrote build/ib-sriov");
} else if (mode === "bundle") {
  const { ok, stderr } = await run([
    "bundle",
    "--quiet",
    // The "browser" condition picks the ESM builds of npm packages (yaml's CommonJS build would
    // import node:module, and any node: import loads Deno's Node layer at every start: ~5 ms).
    "--platform",
    "browser",
    // Minified, names kept (for stack traces, with the source map next to the file): V8 parses
    // the whole file at every start, and the minified one starts ~1.5 ms sooner.
    "--minify",
    "--keep-names",
    "--sourcemap",
    "linked",
    "--output",
    "build/ib-sriov.js",
    "cli.ts",
  ]);
  if (!ok) {
    console.error(stderr.trim());
    Deno.exit(1);
  }
  const body = fastWasmDecode(await Deno.readTextFile("build/ib-sriov.js"));
  const hadShebang = body.startsWith("#!");
  await Deno.writeTextFile("build/ib-sriov.js", `${shebangLine()}\n` + body.replace(/^#!.*\n/, ""));
  if (!hadShebang) {
    // The shebang is then a line deno bundle did not write: the map's lines start one lower.
    const map = JSON.parse(await Deno.readTextFile("build/ib-sriov.js.map"));
    map.mappings = `;${map.mappings}`;
    await Deno.writeTextFile("build/ib-sriov.js.map", JSON.stringify(map));
  }
  await Deno.chmod("build/ib-sriov.js", 0o755);
  console.error("wrote build/ib-sriov.js");
} else {
  console.error("usage: deno run -A tools/build.ts compile|bundle");
  Deno.exit(2);
}
