import ipaddr from "ipaddr.js";
import * as z from "zod/mini";
import { CniError, CniErrorCode } from "./errors.ts";
import { quote } from "./quote.ts";
import { type CniVersion, versionAtLeast } from "./versions.ts";
import { isRecord, valueAt } from "../is_record.ts";
import { lazy } from "../lazy.ts";

/** A value a result may leave out: absent, or of the wrong type, or empty, it counts as unset. */
function lenient<T extends z.ZodMiniType>(schema: T) {
  return z.catch(z.optional(schema), undefined);
}

/** An object without the keys that {@link lenient} left unset. */
function compact<S extends z.core.$ZodShape>(shape: S) {
  return z.pipe(z.object(shape), z.transform((o) => defined<z.output<z.ZodMiniObject<S>>>(o)));
}

/** A list a result may leave out: anything but an array counts as empty. */
function list<T extends z.ZodMiniType>(item: T) {
  return z.pipe(z.transform((v: unknown) => Array.isArray(v) ? v : []), z.array(item));
}

/** The result's schemas, built on first use ({@linkcode lazy}): DEL never parses a result. */
const schemas = lazy(() => {
  const text = lenient(z.string().check(z.minLength(1)));
  const integer = lenient(z.number());
  const texts = lenient(z.array(z.string()));

  const cidr = z.string().check(z.refine(isCidr));

  const interfaceSchema = compact({
    name: z.string(),
    mac: text,
    mtu: integer,
    sandbox: text,
    socketPath: text,
    pciID: text,
  });

  const ipSchema = compact({
    /** CIDR form: `10.1.2.3/24`. */
    address: cidr,
    gateway: text,
    /** Index into `interfaces`. */
    interface: integer,
  });

  const routeSchema = compact({
    dst: z.string().check(z.minLength(1)),
    gw: text,
    mtu: integer,
    advmss: integer,
    priority: integer,
    table: integer,
    scope: integer,
  });

  const dnsSchema = compact({ nameservers: texts, domain: text, search: texts, options: texts });

  /** 0.1.0 and 0.2.0 put one address per family, with routes inside it. */
  const legacyIpObject = z.looseObject({ ip: cidr, gateway: text, routes: list(routeSchema) });
  /** A legacy family field; anything but an object counts as absent. */
  const legacyIpSchema = z.pipe(
    // The cast only tells the type checker what the next schema checks.
    z.transform((v: unknown) => isRecord(v) ? v as z.input<typeof legacyIpObject> : undefined),
    z.optional(legacyIpObject),
  );

  /** A result of any version: 1.x, 0.3.x/0.4.0 and the 0.1.0/0.2.0 `ip4`/`ip6` fields. */
  const resultSchema = z.looseObject({
    interfaces: list(interfaceSchema),
    ips: list(ipSchema),
    routes: list(routeSchema),
    dns: z.pipe(
      z.transform((v: unknown) => (isRecord(v) ? v : {}) as z.input<typeof dnsSchema>),
      dnsSchema,
    ),
    ip4: legacyIpSchema,
    ip6: legacyIpSchema,
  });
  return { interfaceSchema, ipSchema, routeSchema, dnsSchema, resultSchema };
});
type Schemas = ReturnType<typeof schemas>;

export type ResultInterface = z.output<Schemas["interfaceSchema"]>;
export type ResultIp = z.output<Schemas["ipSchema"]>;
export type ResultRoute = z.output<Schemas["routeSchema"]>;
export type ResultDns = z.output<Schemas["dnsSchema"]>;

/** A CNI result in its newest form; {@link formatResult} writes it for any version. */
export interface Result {
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: ResultRoute[];
  dns: ResultDns;
}

export function emptyResult(): Result {
  return { interfaces: [], ips: [], routes: [], dns: {} };
}

function isCidr(v: string): boolean {
  try {
    ipaddr.parseCIDR(v);
    return true;
  } catch {
    return false;
  }
}

/** Copies the keys of `from` whose values are defined; keeps `exactOptionalPropertyTypes` happy. */
function defined<T extends object>(from: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** The message for the first thing wrong in a result, naming the element that holds it. */
function resultProblem(json: unknown, path: readonly PropertyKey[]): string {
  const at = (depth: number) => valueAt(json, path.slice(0, depth));
  const [top, second, third] = path;
  if (top === undefined) return `result is not a JSON object: ${quote(json)}`;
  if (top === "interfaces") return `invalid interface ${quote(at(2))} in result`;
  if (top === "ips") {
    return third === "address"
      ? `invalid ips[].address ${quote(at(3))} in result`
      : `invalid ip ${quote(at(2))} in result`;
  }
  if (top === "routes") return `invalid route ${quote(at(2))} in result`;
  if (second === "routes") return `invalid route ${quote(at(3))} in result`;
  return `invalid ${String(top)}.ip ${quote(at(2))} in result`;
}

/**
 * Reads a result of any supported version (an IPAM plugin's output, or a `prevResult`) into
 * the newest form. Fields of the wrong type are dropped, except those a result is made of: an
 * interface's name, an address, a route's destination.
 *
 * @throws {CniError} code 6 when it is not a result
 */
export function parseResult(json: unknown): Result {
  const parsed = schemas().resultSchema.safeParse(json);
  if (!parsed.success) {
    const message = resultProblem(json, parsed.error.issues[0]?.path ?? []);
    throw new CniError(CniErrorCode.DecodingFailure, message);
  }
  const { interfaces, ips, routes, dns, ip4, ip6 } = parsed.data;
  const result: Result = { interfaces, ips, routes, dns };
  for (const legacy of [ip4, ip6]) {
    if (legacy === undefined) continue;
    result.ips.push(defined<ResultIp>({ address: legacy.ip, gateway: legacy.gateway }));
    result.routes.push(...legacy.routes);
  }
  return result;
}

function isV4(cidr: string): boolean {
  return ipaddr.parseCIDR(cidr)[0].kind() === "ipv4";
}

/**
 * Checks, before anything on the node changes, that a result with or without addresses can be
 * written in `version`: 0.1.0 and 0.2.0 have no way to say "an interface and no address".
 *
 * @throws {CniError} code 1
 */
export function assertRepresentable(version: CniVersion, willHaveIps: boolean): void {
  if (!willHaveIps && !versionAtLeast(version, "0.3.0")) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `cniVersion ${quote(version)} cannot express a result without IP addresses`,
      { details: "configure ipam, or use cniVersion 0.3.0 or later" },
    );
  }
}

/**
 * Writes a result as `version` expects it: 1.x with `interfaces[].mac/mtu/sandbox/pciID`;
 * 0.3.x/0.4.0 with `ips[].version` and an always-present `dns`; 0.1.0/0.2.0 with `ip4`/`ip6`.
 *
 * @throws {CniError} code 1 when 0.1.0/0.2.0 cannot hold the result (no address)
 */
export function formatResult(result: Result, version: CniVersion): Record<string, unknown> {
  const dns = defined<ResultDns>({ ...result.dns });
  const routes = (full: boolean) =>
    result.routes.map((r) =>
      full ? defined<ResultRoute>({ ...r }) : defined<ResultRoute>({ dst: r.dst, gw: r.gw })
    );
  if (versionAtLeast(version, "1.0.0")) {
    const out: Record<string, unknown> = { cniVersion: version };
    if (result.interfaces.length > 0) {
      out.interfaces = result.interfaces.map((i) => defined<ResultInterface>({ ...i }));
    }
    if (result.ips.length > 0) out.ips = result.ips.map((ip) => defined<ResultIp>({ ...ip }));
    if (result.routes.length > 0) out.routes = routes(true);
    if (Object.keys(dns).length > 0) out.dns = dns;
    return out;
  }
  if (versionAtLeast(version, "0.3.0")) {
    const out: Record<string, unknown> = { cniVersion: version };
    if (result.interfaces.length > 0) {
      out.interfaces = result.interfaces.map((i) =>
        defined<ResultInterface>({ name: i.name, mac: i.mac, sandbox: i.sandbox })
      );
    }
    if (result.ips.length > 0) {
      out.ips = result.ips.map((ip) => ({
        version: isV4(ip.address) ? "4" : "6",
        ...defined<ResultIp>({ ...ip }),
      }));
    }
    if (result.routes.length > 0) out.routes = routes(false);
    out.dns = dns;
    return out;
  }
  assertRepresentable(version, result.ips.length > 0);
  const out: Record<string, unknown> = { cniVersion: version };
  for (const family of ["ip4", "ip6"] as const) {
    const ip = result.ips.find((i) => isV4(i.address) === (family === "ip4"));
    if (ip === undefined) continue;
    const familyRoutes = routes(false).filter((r) => isV4(r.dst) === (family === "ip4"));
    out[family] = defined<{ ip: string; gateway: string; routes: ResultRoute[] }>({
      ip: ip.address,
      gateway: ip.gateway,
      routes: familyRoutes.length > 0 ? familyRoutes : undefined,
    });
  }
  out.dns = dns;
  return out;
}
