import assert from "node:assert/strict";
import { openSysfsLibc as openLibc } from "../../../ffi/sysfs_libc.ts";

// Alone in its file: openLibc() memoizes, so no other test may have loaded libc before this one.
Deno.test({
  name: "openLibc() lets a missing --allow-ffi through unchanged",
  permissions: { ffi: false },
  fn() {
    assert.throws(() => openLibc(), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.NotCapable, `expected NotCapable, got ${error}`);
      assert.match(error.message, /Requires ffi access to "libc\.so\.6"/);
      return true;
    });
  },
});
