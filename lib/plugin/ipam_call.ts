import { errorReason } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { CniError } from "../cni/errors.ts";
import { quote } from "../cni/quote.ts";
import type { IpamCommand } from "../ipam/ipam.ts";
import { IpamError } from "../ipam/ipam_error.ts";
import { ipamError, ipamErrorToCni } from "./to_cni_error.ts";
import type { Deps } from "./deps.ts";

/**
 * Delegates `command` to the IPAM plugin `type` with the request's own environment and config,
 * as the spec requires.
 *
 * @returns the delegate's parsed output (`null` when it printed nothing)
 * @throws {CniError} with the delegate's code, or ours for its kind of failure
 */
export async function callIpam(
  deps: Deps,
  req: CniRequest,
  command: IpamCommand,
  type: string,
): Promise<unknown> {
  const { args } = req;
  const env: Record<string, string> = { CNI_PATH: args.path };
  if (args.containerId !== "") env.CNI_CONTAINERID = args.containerId;
  if (args.netns !== "") env.CNI_NETNS = args.netns;
  if (args.ifname !== "") env.CNI_IFNAME = args.ifname;
  if (args.argsRaw !== "") env.CNI_ARGS = args.argsRaw;
  try {
    return await deps.ipam.exec({ command, type, env, stdin: req.stdin });
  } catch (err) {
    if (err instanceof IpamError) throw ipamErrorToCni(err);
    if (err instanceof CniError) throw err;
    throw ipamError(`IPAM plugin ${quote(type)} ${command} failed: ${errorReason(err)}`, {
      cause: err,
    });
  }
}
