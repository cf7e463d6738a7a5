import assert from "node:assert/strict";
import { CniError } from "../../../lib/cni/errors.ts";
import { isSupportedVersion, negotiateVersion, versionAtLeast } from "../../../lib/cni/versions.ts";

Deno.test("isSupportedVersion() accepts exactly the seven spec versions", () => {
  for (const v of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
    assert.ok(isSupportedVersion(v));
  }
  for (const v of ["1.0", "v1.0.0", "1.2.0", "0.5.0", "", "1.0.0 "]) {
    assert.ok(!isSupportedVersion(v));
  }
});

Deno.test("versionAtLeast() orders versions as the spec does", () => {
  assert.ok(versionAtLeast("0.4.0", "0.4.0"));
  assert.ok(versionAtLeast("1.0.0", "0.4.0"));
  assert.ok(!versionAtLeast("0.3.1", "0.4.0"));
  assert.ok(!versionAtLeast("1.0.0", "1.1.0"));
});

Deno.test("negotiateVersion() prefers cniVersion, then the highest common cniVersions entry, then 0.1.0", () => {
  assert.equal(negotiateVersion("0.3.1", ["1.1.0"]), "0.3.1");
  assert.equal(negotiateVersion(undefined, ["0.4.0", "1.0.0", "2.0.0"]), "1.0.0");
  assert.equal(negotiateVersion("", undefined), "0.1.0");
  assert.equal(negotiateVersion(undefined, undefined), "0.1.0");
});

Deno.test("negotiateVersion() refuses an unknown version with code 1 naming it", () => {
  assert.throws(() => negotiateVersion("1.2.0", undefined), (err: unknown) => {
    assert.ok(err instanceof CniError);
    assert.equal(err.code, 1);
    assert.equal(err.message, 'incompatible CNI versions: cniVersion "1.2.0" is not supported');
    assert.match(err.details, /plugin supports "0.1.0", .*"1.1.0"/);
    return true;
  });
  assert.throws(() => negotiateVersion(undefined, ["2.0.0", "3.0.0"]), (err: unknown) => {
    assert.ok(err instanceof CniError);
    assert.equal(err.code, 1);
    assert.equal(
      err.message,
      'incompatible CNI versions: none of cniVersions ["2.0.0","3.0.0"] is supported',
    );
    return true;
  });
});
