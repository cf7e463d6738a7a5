/**
 * Runs one delegated IPAM call the way `cli.ts` wires it: the request's `CNI_*` read from this
 * process's environment, the command and plugin type from the arguments, the config on stdin.
 * Started by exec_ipam_test.ts under the production permission flags.
 *
 * Usage: `_delegate_child.ts COMMAND TYPE`
 */
import { ExecIpam } from "../../../lib/ipam/exec_ipam.ts";
import type { IpamCommand } from "../../../lib/ipam/ipam.ts";

const [command, type] = Deno.args as [IpamCommand, string];
const env: Record<string, string> = {};
for (const name of ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]) {
  const value = Deno.env.get(name);
  if (value !== undefined) env[name] = value;
}
const stdin = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
await new ExecIpam().exec({ command, type, env, stdin });
