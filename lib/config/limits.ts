/**
 * Largest network config read: the plugin's stdin and a file the operator's tool validates.
 * lib/config/validator/validator.ts `MAX_INPUT` is the same limit inside the WASM module.
 */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The directory every `logFile` lies beneath. Fixed, so no network config can move it: a node
 * admin who wants the logs elsewhere mounts that directory here (a symbolic link is refused).
 * lib/config/validator/validator.ts `LOG_DIR` is the same path inside the WASM module.
 */
export const LOG_DIR = "/var/log/ib-sriov";

/**
 * The directory of the NPWG CNI device-info files (device-info spec 4.2), with its trailing
 * `/`: `runtimeConfig.CNIDeviceInfoFile` must name a file directly in it.
 * lib/config/validator/validator.ts `DEVICE_INFO_DIR` is the same path inside the WASM module.
 */
export const DEVICE_INFO_DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";
