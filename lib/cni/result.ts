import ipaddr from "ipaddr.js";
import { CniError, CniErrorCode } from "./errors.ts";
import { quote } from "./quote.ts";
import { type CniVersion, versionAtLeast } from "./versions.ts";

/** An interface in a result (CNI 1.1 shape). */
export interface ResultInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** An address in a result. */
export interface ResultIp {
  /** CIDR form: `10.1.2.3/24`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** A route in a result. */
export interface ResultRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** DNS settings in a result. */
export interface ResultDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A CNI result in its newest form; {@link formatResult} writes it for any version. */
export interface Result {
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: ResultRoute[];
  dns: ResultDns;
}

/** An empty result. */
export function emptyResult(): Result {
  return { interfaces: [], ips: [], routes: [], dns: {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
}

/** Copies the keys of `from` whose values are defined; keeps `exactOptionalPropertyTypes` happy. */
function defined<T extends object>(from: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined) out[k] = v;
  return out as T;
}

function parseRoute(r: unknown): ResultRoute {
  if (!isRecord(r) || str(r.dst) === undefined) {
    throw new CniError(CniErrorCode.DecodingFailure, `invalid route ${quote(r)} in result`);
  }
  return defined<ResultRoute>({
    dst: String(r.dst),
    gw: str(r.gw),
    mtu: num(r.mtu),
    advmss: num(r.advmss),
    priority: num(r.priority),
    table: num(r.table),
    scope: num(r.scope),
  });
}

function parseDns(d: unknown): ResultDns {
  if (!isRecord(d)) return {};
  return defined<ResultDns>({
    nameservers: strings(d.nameservers),
    domain: str(d.domain),
    search: strings(d.search),
    options: strings(d.options),
  });
}

function parseCidr(address: unknown, where: string): string {
  if (typeof address !== "string") {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `invalid ${where} ${quote(address)} in result`,
    );
  }
  try {
    ipaddr.parseCIDR(address);
  } catch (cause) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      `invalid ${where} ${quote(address)} in result`,
      {
        cause,
      },
    );
  }
  return address;
}

/**
 * Reads a result of any supported version (an IPAM plugin's output, or a `prevResult`) into
 * the newest form.
 *
 * @param json the decoded JSON
 * @returns the result
 * @throws {CniError} code 6 when it is not a result
 */
export function parseResult(json: unknown): Result {
  if (!isRecord(json)) {
    throw new CniError(CniErrorCode.DecodingFailure, `result is not a JSON object: ${quote(json)}`);
  }
  const result = emptyResult();
  result.dns = parseDns(json.dns);
  if (Array.isArray(json.interfaces)) {
    for (const i of json.interfaces) {
      if (!isRecord(i) || typeof i.name !== "string") {
        throw new CniError(CniErrorCode.DecodingFailure, `invalid interface ${quote(i)} in result`);
      }
      result.interfaces.push(defined<ResultInterface>({
        name: i.name,
        mac: str(i.mac),
        mtu: num(i.mtu),
        sandbox: str(i.sandbox),
        socketPath: str(i.socketPath),
        pciID: str(i.pciID),
      }));
    }
  }
  if (Array.isArray(json.ips)) {
    for (const ip of json.ips) {
      if (!isRecord(ip)) {
        throw new CniError(CniErrorCode.DecodingFailure, `invalid ip ${quote(ip)} in result`);
      }
      result.ips.push(defined<ResultIp>({
        address: parseCidr(ip.address, "ips[].address"),
        gateway: str(ip.gateway),
        interface: num(ip.interface),
      }));
    }
  }
  if (Array.isArray(json.routes)) result.routes.push(...json.routes.map(parseRoute));
  // 0.1.0 and 0.2.0 put one address per family, with routes inside it.
  for (const family of ["ip4", "ip6"] as const) {
    const legacy = json[family];
    if (!isRecord(legacy)) continue;
    result.ips.push(defined<ResultIp>({
      address: parseCidr(legacy.ip, `${family}.ip`),
      gateway: str(legacy.gateway),
    }));
    if (Array.isArray(legacy.routes)) result.routes.push(...legacy.routes.map(parseRoute));
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
 * @param version the config's version
 * @param willHaveIps whether the ADD will produce addresses (IPAM is configured)
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
 * Writes a result as the given version expects it: 1.x with `interfaces[].mac/mtu/sandbox/
 * pciID`; 0.3.x/0.4.0 with `ips[].version` and an always-present `dns`; 0.1.0/0.2.0 with
 * `ip4`/`ip6`.
 *
 * @param result the result
 * @param version the config's version
 * @returns the JSON-ready object
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
