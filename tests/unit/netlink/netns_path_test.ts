import assert from "node:assert/strict";
import { netnsPathExists } from "../../../lib/netlink/netns.ts";

Deno.test("netnsPathExists() sees /proc namespace paths, which Deno's own file APIs refuse", () => {
  assert.equal(netnsPathExists("/proc/self/ns/net"), true);
  assert.equal(netnsPathExists(`/proc/${Deno.pid}/ns/net`), true);
  // PIDs never reach 2^31 (pid_max is at most 2^22).
  assert.equal(netnsPathExists("/proc/2147483646/ns/net"), false);
  assert.equal(netnsPathExists("/var/run/netns/ib-sriov-no-such-pod"), false);
  assert.equal(netnsPathExists(""), false);
  // Any answer but "not found" counts as live: here ENAMETOOLONG.
  assert.equal(netnsPathExists(`/${"n".repeat(5000)}`), true);
});
