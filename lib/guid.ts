/** An InfiniBand GUID in the colon form the CNI config uses: `xx:xx:xx:xx:xx:xx:xx:xx`. */
const GUID = /^([0-9a-fA-F]{2}:){7}[0-9a-fA-F]{2}$/;

/** The GUID the kernel reports for a VF whose GUID was never set. */
export const ZERO_GUID = "00:00:00:00:00:00:00:00";
/** The GUID mlx5 firmware reports for an unassigned VF, and the value that resets one. */
export const ALL_ONES_GUID = "ff:ff:ff:ff:ff:ff:ff:ff";

/**
 * Why `text` is not a GUID a user may request, or `null` when it is one. All-zero is refused
 * because the kernel treats it as "no GUID"; all-ones is accepted, as the Go plugin does.
 */
export function guidProblem(text: string): string | null {
  if (!GUID.test(text)) return "must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)";
  if (text.toLowerCase() === ZERO_GUID) return "must not be all zeros";
  return null;
}

/** A valid GUID in lower case. */
export function normalizeGuid(text: string): string {
  return text.toLowerCase();
}

/**
 * The GUID inside an IPoIB link-layer address (colon-separated bytes): its last 8 of 20 bytes,
 * lower case. `null` when the address is not 20 bytes long (not an IPoIB netdev).
 */
export function guidFromIpoibAddress(address: string): string | null {
  const bytes = address.split(":");
  if (bytes.length !== 20 || !bytes.every((b) => /^[0-9a-fA-F]{2}$/.test(b))) return null;
  return bytes.slice(12).join(":").toLowerCase();
}

/**
 * Converts sysfs's `node_guid` form (`0002:c903:0031:7a41`) to the colon-byte form, lower case;
 * `null` when the text is not in that form.
 */
export function guidFromSysfs(text: string): string | null {
  const trimmed = text.trim();
  if (!/^([0-9a-fA-F]{4}:){3}[0-9a-fA-F]{4}$/.test(trimmed)) return null;
  const hex = trimmed.replaceAll(":", "").toLowerCase();
  return hex.match(/../g)!.join(":");
}

/** Whether a VF's current GUID is usable as it is: not all zeros, not all ones. */
export function isAssignedGuid(guid: string): boolean {
  const g = guid.toLowerCase();
  return g !== ZERO_GUID && g !== ALL_ONES_GUID;
}
