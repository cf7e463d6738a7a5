import { CniError, CniErrorCode } from "./errors.ts";
import { quote } from "./quote.ts";

/** Every CNI specification version this plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = [
  "0.1.0",
  "0.2.0",
  "0.3.0",
  "0.3.1",
  "0.4.0",
  "1.0.0",
  "1.1.0",
] as const;

export type CniVersion = typeof SUPPORTED_VERSIONS[number];

/** The version the plugin reports as its own, and uses for errors before a config is read. */
export const CURRENT_VERSION: CniVersion = "1.1.0";

/**
 * Whether `version` is exactly one of the supported versions (string equality, as libcni does:
 * "1.0" or "v1.0.0" are not versions).
 */
export function isSupportedVersion(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

export function versionAtLeast(version: CniVersion, floor: CniVersion): boolean {
  return SUPPORTED_VERSIONS.indexOf(version) >= SUPPORTED_VERSIONS.indexOf(floor);
}

/**
 * Chooses the config's version: `cniVersion` when present; otherwise the highest supported
 * entry of `cniVersions`; otherwise `0.1.0`, the spec's default for a config without one.
 *
 * @throws {CniError} code 1 when no candidate is supported
 */
export function negotiateVersion(
  cniVersion: string | undefined,
  cniVersions: readonly string[] | undefined,
): CniVersion {
  const supported = `plugin supports ${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(", ")}`;
  if (cniVersion !== undefined && cniVersion !== "") {
    if (isSupportedVersion(cniVersion)) return cniVersion;
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `incompatible CNI versions: cniVersion ${quote(cniVersion)} is not supported`,
      { details: `config is ${quote(cniVersion)}, ${supported}` },
    );
  }
  if (cniVersions !== undefined && cniVersions.length > 0) {
    const common = SUPPORTED_VERSIONS.filter((v) => cniVersions.includes(v));
    const best = common.at(-1);
    if (best !== undefined) return best;
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `incompatible CNI versions: none of cniVersions ${quote(cniVersions)} is supported`,
      { details: supported },
    );
  }
  return "0.1.0";
}
