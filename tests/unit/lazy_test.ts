import assert from "node:assert/strict";
import { lazy } from "../../lib/lazy.ts";

Deno.test("lazy() builds nothing until asked, then once", () => {
  let builds = 0;
  const value = lazy(() => ({ n: ++builds }));
  assert.equal(builds, 0);
  const first = value();
  assert.equal(value(), first);
  assert.equal(builds, 1);
});

Deno.test("lazy() builds again after a build that threw", () => {
  let calls = 0;
  const value = lazy(() => {
    calls++;
    if (calls === 1) throw new Error("first build fails");
    return "built";
  });
  assert.throws(() => value(), { message: "first build fails" });
  assert.equal(value(), "built");
  assert.equal(calls, 2);
});
