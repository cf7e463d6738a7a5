/**
 * The image `make image` built (build/ib-sriov-image.tar), run by podman as the DaemonSet runs
 * it: read-only root, the node's CNI bin dir (a temp dir) mounted at /host/opt/cni/bin. Root
 * only; `make image` first (or `make bundle`: the image is then built here).
 *
 * @module
 */
import assert from "node:assert/strict";
import { IMAGE_ARCHIVE, IMAGE_TAG } from "../../tools/image.ts";
import { createPodman, type Podman, RUN_FLAGS } from "./_podman.ts";
import { BUNDLE, listing, logLines, REPO, run, runInstalled, VERSION_ANSWER } from "./_runtime.ts";

async function setup(): Promise<{ podman: Podman; bin: string } & AsyncDisposable> {
  const archive = `${REPO}${IMAGE_ARCHIVE}`;
  // `make test` builds the image first; a run of this tier alone (after `make bundle`) builds it
  // here when it is missing or older than the bundle, so that it never tests a stale bundle.
  const built = await Deno.stat(archive).then((s) => s.mtime!, () => new Date(0));
  if (built < (await Deno.stat(BUNDLE)).mtime!) {
    const image = await run([Deno.execPath(), "run", "-A", `${REPO}tools/image.ts`], { cwd: REPO });
    assert.equal(image.code, 0, `tools/image.ts: ${image.stderr}`);
  }
  const bin = await Deno.makeTempDir({ prefix: "ib-sriov-host-bin-" });
  const podman = await createPodman(bin);
  const loaded = await podman.run(["load", "--quiet", "--input", archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
  return {
    podman,
    bin,
    async [Symbol.asyncDispose]() {
      await podman[Symbol.asyncDispose]();
      await Deno.remove(bin, { recursive: true });
    },
  };
}

/**
 * `podman run` of the image as deploy/daemonset.yaml runs it: read-only root without a tmpfs, no
 * capabilities, no privilege escalation, `bin` as the host's CNI bin dir.
 */
function imageRun(bin: string, mount = ""): string[] {
  return [
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--volume",
    `${bin}:/host/opt/cni/bin${mount}`,
    IMAGE_TAG,
  ];
}

Deno.test("the image with --no-sleep installs a plugin that answers VERSION, and exits 0", async () => {
  await using t = await setup();
  const out = await t.podman.run(["run", "--rm", ...RUN_FLAGS, ...imageRun(t.bin), "--no-sleep"]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(logLines(out.stderr).map((l) => [l.level, l.msg]), [
    ["info", "installing"],
    ["info", "installing"],
    ["info", "installed"],
  ]);
  assert.deepEqual(await listing(t.bin), ["ib-sriov", "ib-sriov.d/", "ib-sriov.d/deno"]);
  assert.equal((await Deno.stat(`${t.bin}/ib-sriov`)).mode! & 0o777, 0o755);
  const version = await runInstalled(t.bin, { CNI_COMMAND: "VERSION" }, "{}");
  assert.equal(version.code, 0, version.stderr);
  assert.deepEqual(JSON.parse(version.stdout), VERSION_ANSWER);
});

Deno.test("the image without --no-sleep stays up after installing and exits 0 on SIGTERM", async () => {
  await using t = await setup();
  const name = `ib-sriov-image-${Deno.pid}`;
  const started = await t.podman.run([
    "run",
    "--detach",
    "--name",
    name,
    ...RUN_FLAGS,
    ...imageRun(t.bin),
  ]);
  assert.equal(started.code, 0, started.stderr);
  // Installed, and still running.
  let logs = "";
  for (let i = 0; i < 100 && !logs.includes("waiting for SIGTERM"); i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = (await t.podman.run(["logs", name])).stderr;
  }
  assert.ok(logs.includes('"msg":"waiting for SIGTERM or SIGINT"'), logs);
  const state = await t.podman.run(["inspect", "--format", "{{.State.Status}}", name]);
  assert.equal(state.stdout.trim(), "running");
  // `podman stop` sends SIGTERM, and SIGKILL only after the timeout (exit status 137).
  const stopped = await t.podman.run(["stop", "--time", "20", name]);
  assert.equal(stopped.code, 0, stopped.stderr);
  const exit = await t.podman.run(["inspect", "--format", "{{.State.ExitCode}}", name]);
  assert.equal(exit.stdout.trim(), "0");
  const last = logLines((await t.podman.run(["logs", name])).stderr).at(-1)!;
  assert.deepEqual([last.msg, last.signal], ["exiting", "SIGTERM"]);
  await t.podman.run(["rm", name]);
  assert.deepEqual(await listing(t.bin), ["ib-sriov", "ib-sriov.d/", "ib-sriov.d/deno"]);
});

Deno.test("the image on a read-only mount exits 1 with the message naming the directory", async () => {
  await using t = await setup();
  const out = await t.podman.run([
    "run",
    "--rm",
    ...RUN_FLAGS,
    ...imageRun(t.bin, ":ro"),
    "--no-sleep",
  ]);
  assert.equal(out.code, 1, out.stderr);
  const last = logLines(out.stderr).at(-1)!;
  assert.equal(last.level, "error");
  assert.equal(
    last.msg,
    'Cannot install into "/host/opt/cni/bin": the file system is read-only (mount the host\'s CNI bin directory read-write)',
  );
  assert.deepEqual(await listing(t.bin), []);
});
