import assert from "node:assert/strict";
import { PERMISSION_FLAGS, shebangLine } from "../../tools/permissions.ts";

Deno.test("shebangLine() fits in the 255 bytes Linux reads of a #! line", () => {
  const bytes = new TextEncoder().encode(shebangLine()).length;
  assert.ok(bytes <= 255, `shebang is ${bytes} bytes`);
  assert.ok(shebangLine().endsWith(PERMISSION_FLAGS.join(" ")));
});

Deno.test("PERMISSION_FLAGS scope file access to the state directories", () => {
  assert.ok(PERMISSION_FLAGS.includes("--allow-write=/var/lib/cni/ib-sriov,/var/run/cni/ib-sriov"));
  assert.ok(
    !PERMISSION_FLAGS.some((f) => f === "--allow-all" || f === "-A" || f === "--allow-write"),
  );
});
