/**
 * Largest network config read: the plugin's stdin and a file the operator's tool validates.
 * lib/config/validator/validator.ts `MAX_INPUT` is the same limit inside the WASM module.
 */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
