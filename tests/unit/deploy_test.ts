/**
 * The manifests under deploy/: the example NetworkAttachmentDefinitions pass `ib-sriov validate`,
 * and the DaemonSet installs where the plugin's runtime looks, on every node, without privileges.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { DEFAULT_CNI_BIN_DIR, DEFAULT_HOST_CNI_BIN_DIR } from "../../lib/tool/install.ts";
import { runTool } from "../../lib/tool/main.ts";
import { IMAGE_TAG } from "../../tools/image.ts";
import { testIo } from "./tool/_tool_io.ts";

const DEPLOY = fileURLToPath(new URL("../../deploy/", import.meta.url));
const NADS = ["nad-plain.yaml", "nad-ib-kubernetes.yaml", "nad-rdma-isolation.yaml"];

Deno.test("deploy/: every example NetworkAttachmentDefinition passes ib-sriov validate", async () => {
  const files = NADS.map((f) => `${DEPLOY}${f}`);
  const t = testIo();
  assert.equal(await runTool(["validate", ...files], t.io), 0, t.stdout());
  assert.equal(t.stdout(), files.map((f) => `${f}: ok\n`).join(""));
  assert.equal(t.stderr(), "");
});

Deno.test("deploy/: the NADs cover plain, ib-kubernetes and RDMA isolation", async () => {
  const configs = await Promise.all(NADS.map(async (f) => {
    const nad = parse(await Deno.readTextFile(`${DEPLOY}${f}`));
    return JSON.parse(nad.spec.config);
  }));
  assert.deepEqual(
    configs.map((c) => [c.type, c.ibKubernetesEnabled ?? false, c.rdmaIsolation ?? false]),
    [["ib-sriov", false, false], ["ib-sriov", true, false], ["ib-sriov", false, true]],
  );
});

interface Container {
  image: string;
  args: string[];
  securityContext: Record<string, unknown> & { capabilities: { drop: string[] } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string }[];
}

Deno.test("deploy/daemonset.yaml installs into the host's /opt/cni/bin on every node, unprivileged", async () => {
  const ds = parse(await Deno.readTextFile(`${DEPLOY}daemonset.yaml`));
  assert.equal(ds.kind, "DaemonSet");
  const pod = ds.spec.template.spec;
  // Every node: one toleration that matches every taint.
  assert.deepEqual(pod.tolerations, [{ operator: "Exists" }]);
  // An affinity an operator narrows by adding a term.
  assert.ok(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution);
  assert.equal(pod.hostNetwork, undefined);
  const [container, ...others] = pod.containers as Container[];
  assert.deepEqual(others, []);
  // The image make image tags: this version's.
  assert.equal(container!.image, IMAGE_TAG);
  // The host's dir, mounted where install writes by default, and named on the command line.
  const volume = pod.volumes.find((v: { hostPath?: unknown }) => v.hostPath !== undefined);
  assert.equal(volume.hostPath.path, DEFAULT_HOST_CNI_BIN_DIR);
  const mount = container!.volumeMounts.find((m) => m.name === volume.name)!;
  assert.equal(mount.mountPath, DEFAULT_CNI_BIN_DIR);
  assert.deepEqual(container!.args, ["--cni-bin-dir", mount.mountPath]);
  const sc = container!.securityContext;
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  assert.equal(sc.capabilities.drop.length, 1);
  for (const kind of ["requests", "limits"] as const) {
    assert.deepEqual(Object.keys(container!.resources[kind]).sort(), ["cpu", "memory"], kind);
  }
});
