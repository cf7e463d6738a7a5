/**
 * The config validator as the tool takes it: `validateConfigBytes` of
 * `lib/config/validate_config.ts` (the WASM validator) in production, anything with its shape in
 * tests.
 *
 * @module
 */
import type { Violation } from "../config/validate_config.ts";

export type { Violation };

/** Validates the raw bytes of a CNI config or conflist and returns every violation. */
export type ConfigValidator = (bytes: Uint8Array) => Violation[];
