/**
 * The Go ib-sriov-cni's reading of a cache file, for the rollback contract: after a rollback its
 * DEL decodes our attachment record as its cache. This decodes JSON text into its `NetConf` the
 * way Go's `encoding/json` does, so a test can assert what that DEL reads.
 *
 * The fields, their JSON names and Go types are copied by hand from the public source at the
 * versions ib-sriov-cni master 543060d builds with (its go.mod):
 * - k8snetworkplumbingwg/ib-sriov-cni 543060d, `pkg/types/types.go`: `NetConf` embeds
 *   `types.PluginConf` and `IbSriovNetConf` (whose `GUID` and `IsVFDevice` are `json:"-"`);
 * - containernetworking/cni v1.3.0, `pkg/types/types.go`: `PluginConf`, `IPAM`, `DNS`,
 *   `GCAttachment` (`PrevResult` is `json:"-"`);
 * - k8snetworkplumbingwg/rdma-cni v1.6.0, `pkg/types/types.go`: `RdmaNetState`.
 *
 * What `encoding/json` does, as far as these types need it:
 * - a key matches the field with that exact name, else one whose name equals it without regard
 *   to case; a key that matches no field is ignored;
 * - keys are applied in order, so of two keys that match one field the later wins;
 * - `null` leaves a string, bool, number or struct as it is, and makes a map or slice nil;
 * - a value of the wrong type is an error, and the whole decode fails: the Go plugin's DEL then
 *   returns success without undoing anything (cmdDel: `LoadConfFromCache` error → `return nil`).
 *
 * @module
 */

/** A Go type, as far as these structs use them. */
export type GoType =
  | "string"
  | "bool"
  | "int"
  | "any"
  | { map: GoType }
  | { slice: GoType }
  | { struct: Record<string, GoType> };

const STRINGS: GoType = { slice: "string" };

/** `NetConf` of ib-sriov-cni 543060d: the promoted fields of its two embedded structs. */
export const GO_NETCONF: GoType = {
  struct: {
    // types.PluginConf (cni v1.3.0)
    cniVersion: "string",
    name: "string",
    type: "string",
    capabilities: { map: "bool" },
    ipam: { struct: { type: "string" } },
    dns: {
      struct: { nameservers: STRINGS, domain: "string", search: STRINGS, options: STRINGS },
    },
    prevResult: { map: "any" },
    "cni.dev/valid-attachments": {
      slice: { struct: { containerID: "string", ifname: "string" } },
    },
    // IbSriovNetConf (ib-sriov-cni 543060d)
    Master: "string",
    deviceID: "string",
    VFID: "int",
    HostIFNames: "string",
    HostIFGUID: "string",
    ContIFNames: "string",
    pkey: "string",
    "link_state": "string",
    rdmaIsolation: "bool",
    ibKubernetesEnabled: "bool",
    vfioPciMode: "bool",
    RdmaNetState: {
      struct: {
        version: "string",
        deviceID: "string",
        sandboxRdmaDevName: "string",
        containerRdmaDevName: "string",
      },
    },
    runtimeConfig: { struct: { infinibandGUID: "string" } },
    args: { struct: { cni: { map: "string" } } },
  },
};

/** Go's zero value of a type. */
function zero(t: GoType): unknown {
  if (t === "string") return "";
  if (t === "bool") return false;
  if (t === "int") return 0;
  if (t === "any" || "map" in t || "slice" in t) return null;
  return Object.fromEntries(Object.entries(t.struct).map(([k, f]) => [k, zero(f)]));
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** Decodes `v` into a value of type `t` that holds `into`; pushes type errors to `errors`. */
function decode(t: GoType, v: unknown, into: unknown, path: string, errors: string[]): unknown {
  const wrong = () => {
    errors.push(`cannot unmarshal ${typeName(v)} into Go struct field ${path}`);
    return into;
  };
  if (v === null) return typeof t === "object" && "struct" in t ? into : zero(t);
  if (t === "any") return v;
  if (t === "string") return typeof v === "string" ? v : wrong();
  if (t === "bool") return typeof v === "boolean" ? v : wrong();
  if (t === "int") return typeof v === "number" && Number.isInteger(v) ? v : wrong();
  if ("slice" in t) {
    if (!Array.isArray(v)) return wrong();
    return v.map((item, i) => decode(t.slice, item, zero(t.slice), `${path}[${i}]`, errors));
  }
  if (typeof v !== "object" || Array.isArray(v)) return wrong();
  if ("map" in t) {
    return Object.fromEntries(
      Object.entries(v).map(([k, item]) => [k, decode(t.map, item, zero(t.map), path, errors)]),
    );
  }
  const out = { ...(into as Record<string, unknown>) };
  const fields = Object.keys(t.struct);
  for (const [key, item] of Object.entries(v)) {
    const field = fields.find((f) => f === key) ??
      fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined) continue;
    out[field] = decode(t.struct[field]!, item, out[field], `${path}.${field}`, errors);
  }
  return out;
}

/** The Go plugin's `NetConf` after `json.Unmarshal` of a cache file, by JSON field name. */
export interface GoNetConf {
  [field: string]: unknown;
  cniVersion: string;
  name: string;
  type: string;
  Master: string;
  deviceID: string;
  VFID: number;
  HostIFNames: string;
  HostIFGUID: string;
  ContIFNames: string;
  pkey: string;
  "link_state": string;
  rdmaIsolation: boolean;
  vfioPciMode: boolean;
  ipam: { type: string };
  RdmaNetState: Record<string, string>;
  runtimeConfig: { infinibandGUID: string };
  args: { cni: Record<string, string> | null };
}

/**
 * Decodes a cache file as the Go plugin's DEL does (`json.Unmarshal` into its `NetConf`).
 *
 * @param text the file's contents
 * @returns the decoded struct, and Go's type errors (any one makes its decode fail)
 */
export function decodeAsGo(text: string): { conf: GoNetConf; errors: string[] } {
  const errors: string[] = [];
  const conf = decode(GO_NETCONF, JSON.parse(text), zero(GO_NETCONF), "NetConf", errors);
  return { conf: conf as GoNetConf, errors };
}

/**
 * The Go plugin's cache layouts in `tests/fixtures/go_cache/`, each as it wrote them (compact,
 * keys sorted, as Go marshals a map), for VF 0 of `tests/plugin/world.ts` attached as `net1` of
 * network `ib-net` with `host-local`:
 * - `v1.3.0`: the current layout (v1.3.0 and later), no GUID change;
 * - `v1.3.0-args-cni-null`: the same without `args.cni` in the config, as Go writes it;
 * - `v1.3.0-no-HostIFNames`: without `HostIFNames`;
 * - `v1.3.0-guid-rdma`: with ib-kubernetes's GUID, `link_state` and `rdmaIsolation`;
 * - `pre-v1.3.0`, `pre-v1.3.0-host-local`: before v1.3.0, only the PluginConf keys.
 */
export const GO_CACHE_LAYOUTS = [
  "v1.3.0",
  "v1.3.0-args-cni-null",
  "v1.3.0-no-HostIFNames",
  "v1.3.0-guid-rdma",
  "pre-v1.3.0",
  "pre-v1.3.0-host-local",
] as const;
export type GoCacheLayout = typeof GO_CACHE_LAYOUTS[number];

/**
 * A Go cache layout's file, with the top-level values of another node (keys the layout lacks
 * stay absent; the key order stays Go's).
 *
 * @param layout the layout
 * @param values e.g. `{ deviceID, HostIFNames, Master, name }` of a simulated VF
 * @returns the file's contents
 */
export function goCacheFixture(
  layout: GoCacheLayout,
  values: Record<string, string | number> = {},
): string {
  const text = Deno.readTextFileSync(new URL(`fixtures/go_cache/${layout}`, import.meta.url));
  const cache = JSON.parse(text) as Record<string, unknown>;
  for (const [k, v] of Object.entries(values)) if (k in cache) cache[k] = v;
  return JSON.stringify(cache);
}
