import * as z from "zod/mini";
import { decodeJson } from "./json_file.ts";
import { StateError } from "./state_error.ts";
import { lazy } from "../lazy.ts";

/** The allocation record `<cacheDir>/pci/<pci>`: who holds a device. Other keys are dropped. */
const deviceOwnerSchema = lazy(() =>
  z.object({
    containerId: z.string(),
    ifname: z.string(),
    /** The holder's netns: a holder whose netns is gone died without DEL. */
    netns: z.string(),
  })
);

/** Who holds a device: written in the allocation record. */
export type DeviceOwner = z.output<ReturnType<typeof deviceOwnerSchema>>;

/**
 * Decodes an allocation record.
 *
 * @param text the file's contents
 * @param path the file, for error messages
 * @returns the owner
 * @throws {StateError} code `corrupt` when the text is not JSON or not an allocation record
 */
export function decodeDeviceOwner(text: string, path: string): DeviceOwner {
  const parsed = deviceOwnerSchema().safeParse(decodeJson(text, path, "allocation record"));
  if (parsed.success) return parsed.data;
  throw new StateError(
    "corrupt",
    path,
    `Cannot read allocation record "${path}": expected string fields containerId, ifname, netns`,
  );
}
