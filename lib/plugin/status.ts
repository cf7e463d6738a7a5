import { errorReason } from "../error_message.ts";
import type { CniRequest } from "../cni/dispatch.ts";
import { CniError } from "../cni/errors.ts";
import { decodeNetConf } from "../config/load_net_conf.ts";
import type { Deps } from "./deps.ts";
import { notAvailable, withCniCodes } from "./to_cni_error.ts";
import { callIpam } from "./ipam_call.ts";
import { assertRdmaExclusive } from "./rdma_isolation.ts";

function unusable(what: string, err: unknown): CniError {
  return notAvailable(`${what}: ${errorReason(err)}`, { cause: err });
}

/**
 * STATUS: ready when netlink works, the state directory is usable, the RDMA subsystem is in
 * exclusive mode (for `rdmaIsolation`), and the IPAM plugin says it is ready.
 *
 * @throws {CniError} code 50 with the reason, or the IPAM plugin's own STATUS error
 */
export const cmdStatus = withCniCodes(async (deps: Deps, req: CniRequest): Promise<void> => {
  const conf = decodeNetConf(req);
  try {
    using host = deps.netlink.hostNetns();
    deps.netlink.linkByName(host, "lo");
  } catch (err) {
    throw unusable("netlink is not usable", err);
  }
  try {
    using _lock = await deps.store.lock("status", deps.lockTimeoutMs);
  } catch (err) {
    throw unusable("the state directory is not usable", err);
  }
  if (conf.rdmaIsolation) {
    try {
      assertRdmaExclusive(deps);
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      throw notAvailable(err.message, { details: err.details, cause: err });
    }
  }
  if (conf.ipam !== undefined) await callIpam(deps, req, "STATUS", conf.ipam.type);
});
