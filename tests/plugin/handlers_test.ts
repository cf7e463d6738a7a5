import { createHandlers } from "../../lib/plugin/handlers.ts";
import { assertRejectsCniError } from "../assert_cni_error.ts";
import { netConf, request, world } from "./world.ts";

Deno.test("createHandlers() reports a state directory failure as code 103 naming the file", async () => {
  await using w = await world();
  // A file where the cache directory should be: every write below it fails.
  await Deno.writeTextFile(`${w.stateDir}/cache`, "not a directory");
  const handlers = createHandlers(() => w.deps);
  await assertRejectsCniError(handlers.add(request("ADD", netConf(1))), 103, /cache/);
});
