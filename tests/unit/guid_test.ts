import assert from "node:assert/strict";
import {
  guidFromIpoibAddress,
  guidFromSysfs,
  guidProblem,
  isAssignedGuid,
  normalizeGuid,
} from "../../lib/guid.ts";

Deno.test("guidProblem() accepts 8 colon-separated hex bytes, any case, except all zeros", () => {
  for (
    const ok of ["01:23:45:67:89:ab:cd:ef", "01:23:45:67:89:AB:CD:EF", "ff:ff:ff:ff:ff:ff:ff:ff"]
  ) {
    assert.equal(guidProblem(ok), null);
  }
  assert.equal(guidProblem("00:00:00:00:00:00:00:00"), "must not be all zeros");
  for (
    const bad of [
      "invalid GUID",
      "00:11:22:33:44:55:66",
      "00:AF-3B-0123:21:3322",
      "0123:4567:89ab:cdef",
      "01:23:45:67:89:ab:cd:ef:00",
    ]
  ) {
    assert.match(guidProblem(bad)!, /colon-separated hex bytes/);
  }
  assert.equal(normalizeGuid("AB:CD:00:00:00:00:00:01"), "ab:cd:00:00:00:00:00:01");
});

Deno.test("guidFromIpoibAddress() takes the last 8 of 20 bytes and refuses other lengths", () => {
  assert.equal(
    guidFromIpoibAddress("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"),
    "02:00:5e:10:00:00:00:01",
  );
  assert.equal(
    guidFromIpoibAddress("00:00:04:A5:FE:80:00:00:00:00:00:00:11:22:33:00:00:AA:BB:CC"),
    "11:22:33:00:00:aa:bb:cc",
  );
  assert.equal(guidFromIpoibAddress("02:00:5e:10:00:01"), null);
  assert.equal(guidFromIpoibAddress(""), null);
});

Deno.test("guidFromSysfs() converts node_guid's 16-bit groups to bytes", () => {
  assert.equal(guidFromSysfs("0002:c903:0031:7A41\n"), "00:02:c9:03:00:31:7a:41");
  assert.equal(guidFromSysfs("garbage"), null);
});

Deno.test("isAssignedGuid() is false for the all-zero and all-ones sentinels", () => {
  assert.equal(isAssignedGuid("00:00:00:00:00:00:00:00"), false);
  assert.equal(isAssignedGuid("FF:FF:FF:FF:FF:FF:FF:FF"), false);
  assert.equal(isAssignedGuid("02:00:00:00:00:00:00:05"), true);
});
