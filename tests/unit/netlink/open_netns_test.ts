import assert from "node:assert/strict";
import { readText } from "../../../ffi/sysfs_libc.ts";
import { openNetns, THREAD_NETNS_PATH } from "../../../lib/netlink/netns.ts";

Deno.test("openNetns() holds the namespace read-only and non-blocking, as fdinfo shows", () => {
  using ns = openNetns(THREAD_NETNS_PATH);
  const fdinfo = readText(`/proc/thread-self/fdinfo/${ns.fd}`);
  const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(fdinfo)?.[1] ?? "", 8);
  // O_ACCMODE, O_NONBLOCK.
  assert.deepEqual({ access: flags & 0o3, nonblocking: flags & 0o4000 }, {
    access: 0,
    nonblocking: 0o4000,
  }, fdinfo);
});
