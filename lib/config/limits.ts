// The limits and directories the config rules name, for the plugin and for the WASM validator,
// whose AssemblyScript source (validator/validator.ts) compiles this file in: keep it to constants
// that are valid AssemblyScript.

/** The plugin's `type` in a config: the file name it is installed under in the CNI bin directory. */
export const PLUGIN_TYPE = "ib-sriov";

/** Largest network config read: the plugin's stdin and a file the operator's tool validates. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of arrays and objects accepted; the config itself is depth 1. */
export const MAX_CONFIG_DEPTH = 128;

/**
 * The directory every `logFile` lies beneath. Fixed, so no network config can move it: a node
 * admin who wants the logs elsewhere mounts that directory here (a symbolic link is refused).
 */
export const LOG_DIR = "/var/log/ib-sriov";

/**
 * The directory of the NPWG CNI device-info files (device-info spec 4.2), with its trailing `/`:
 * `runtimeConfig.CNIDeviceInfoFile` must name a file directly in it. Not anywhere under `devinfo/`:
 * `devinfo/dp/` holds the device plugin's files, which Multus copies for every pod of a resource.
 */
export const DEVICE_INFO_DIR = "/var/run/k8s.cni.cncf.io/devinfo/cni/";
