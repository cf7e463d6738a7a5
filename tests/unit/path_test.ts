import assert from "node:assert/strict";
import * as node from "node:path";
import { basename, dirname, join } from "../../lib/path.ts";

Deno.test("join() agrees with node:path on the plugin's kinds of paths", () => {
  assert.equal(
    join("/", "sys/bus/pci/devices", "0000:3b:00.1"),
    "/sys/bus/pci/devices/0000:3b:00.1",
  );
  assert.equal(
    join("/var/lib/cni/ib-sriov/", "pci", "0000:3b:00.1"),
    "/var/lib/cni/ib-sriov/pci/0000:3b:00.1",
  );
  assert.equal(join("/tmp/root", "sys"), "/tmp/root/sys");
  assert.equal(join("relative", "x"), "relative/x");
  assert.equal(join("", "x"), "x");
  assert.equal(join(), ".");
});

Deno.test("basename() and dirname() agree with node:path, trailing slashes included", () => {
  const cases: [string, string, string][] = [
    ["/sys/bus/pci/devices/0000:3b:00.0", "0000:3b:00.0", "/sys/bus/pci/devices"],
    ["../../../0000:3b:00.0", "0000:3b:00.0", "../../.."],
    ["/var/run/netns/pod/", "pod", "/var/run/netns"],
    ["/top", "top", "/"],
    ["name", "name", "."],
    ["/", "", "/"],
  ];
  for (const [path, base, dir] of cases) {
    assert.equal(basename(path), base, `basename(${path})`);
    assert.equal(dirname(path), dir, `dirname(${path})`);
    assert.equal(basename(path), node.basename(path), `node basename(${path})`);
    assert.equal(dirname(path), node.dirname(path), `node dirname(${path})`);
  }
});
