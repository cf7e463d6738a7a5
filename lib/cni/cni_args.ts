import { CniError, CniErrorCode } from "./errors.ts";
import { quote } from "./quote.ts";

/** CNI_ARGS keys the plugin knows: the ones Multus and the kubelet pass. */
const KNOWN_KEYS = new Set([
  "IgnoreUnknown",
  "K8S_POD_NAMESPACE",
  "K8S_POD_NAME",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
]);

/**
 * Parses `CNI_ARGS` (`K=V;K=V`; the last duplicate wins). As libcni does, a key the plugin does
 * not know is an error unless `IgnoreUnknown` is `1` or `true` (Multus always sets it).
 *
 * @throws {CniError} code 4 for a pair without `=`, code 2 for an unknown key
 */
export function parseCniArgs(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === "") return out;
  for (const pair of raw.split(";")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        `invalid CNI_ARGS pair ${quote(pair)}: expected KEY=VALUE`,
        { details: `CNI_ARGS is ${quote(raw)}` },
      );
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = ["1", "true"].includes((out["IgnoreUnknown"] ?? "").toLowerCase());
  if (!ignoreUnknown) {
    for (const [key, value] of Object.entries(out)) {
      if (!KNOWN_KEYS.has(key)) {
        throw new CniError(
          CniErrorCode.UnsupportedField,
          `unknown CNI_ARGS key ${quote(key)} with value ${quote(value)}`,
          { details: "add IgnoreUnknown=true to CNI_ARGS to pass keys this plugin does not use" },
        );
      }
    }
  }
  return out;
}
