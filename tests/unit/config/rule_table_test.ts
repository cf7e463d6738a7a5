/**
 * The network config rules, one row per rule and per way of breaking it: the validator's code,
 * name, path and whole message, and the CNI error the plugin answers with. Each row is driven
 * through the real WASM validator, through dispatch() (the plugin's stdin path) and, for the
 * field rules, through loadNetConf() (what the handlers and the tool's dry-run call): all three
 * must report the row exactly.
 */
import assert from "node:assert/strict";
import { type CniRequest, dispatch } from "../../../lib/cni/dispatch.ts";
import { CniError } from "../../../lib/cni/errors.ts";
import { MAX_CONFIG_BYTES } from "../../../lib/config/limits.ts";
import { loadNetConf } from "../../../lib/config/load_net_conf.ts";
import {
  validateConfigBytes,
  type ValidateOptions,
  ValidatorRule,
  type ValidatorRuleCode,
} from "../../../lib/config/validate_config.ts";

const encode = (text: string) => new TextEncoder().encode(text);

/** A plugin config of version 1.0.0 with `fields` added. */
function conf(fields: string): string {
  return `{"name":"n","cniVersion":"1.0.0",${fields}}`;
}

/** The CNI commands a row is sent with through dispatch(). */
type Command = "ADD" | "DEL";

interface RuleRow {
  rule: ValidatorRuleCode;
  ruleName: string;
  /** The config, as the plugin reads it on stdin or the tool from a file. */
  input: string | Uint8Array;
  path: string;
  message: string;
  /** The violation's advice, which goes into the error's details. */
  details?: string;
  /** The CNI error code; absent for a conflist rule, which the plugin never reads. */
  cni?: number;
  /** The command for dispatch() and loadNetConf(); DEL unless given. */
  command?: Command;
  /** The error's message from dispatch() when it is not the violation's. */
  cniMessage?: string;
  /**
   * A warning: dispatch() runs the handler, loadNetConf() ignores the field and returns the
   * warning; `cni` is then absent.
   */
  warning?: true;
}

const LOG_LEVEL_DETAILS = "records are written at info";
const LOG_FILE_DETAILS = "records go to stderr";

const DEVICE_INFO_DETAILS =
  "Multus sets it when the NetworkAttachmentDefinition's plugin declares capabilities.CNIDeviceInfoFile; do not write it in the config";

const DEPTH_129 = `{"name":"n","x":${"[".repeat(128)}${"]".repeat(128)}}`;

const RULES: RuleRow[] = [
  {
    rule: 1,
    ruleName: "utf8",
    input: new Uint8Array([...encode('{"name":"n'), 0xff, ...encode('"}')]),
    path: "",
    message: "error decoding network config: invalid UTF-8 at byte 10",
    cni: 6,
  },
  {
    rule: 2,
    ruleName: "json-syntax",
    input: '{"name":"n" "type":"ib-sriov"}',
    path: "",
    message: 'error decoding network config: unexpected "\\"" at byte 12 (line 1, column 13)',
    cni: 6,
  },
  {
    rule: 2,
    ruleName: "json-syntax",
    input: '{"name":"n",',
    path: "",
    message: "error decoding network config: unexpected end of JSON input at byte 12",
    cni: 6,
  },
  {
    rule: 3,
    ruleName: "json-size",
    input: new Uint8Array(MAX_CONFIG_BYTES + 1).fill(0x20),
    path: "",
    message: `config is ${MAX_CONFIG_BYTES + 1} bytes, more than ${MAX_CONFIG_BYTES}`,
    cni: 5,
    // The plugin refuses it while reading stdin, before the validator runs.
    cniMessage: `error reading from stdin: config is ${
      MAX_CONFIG_BYTES + 1
    } bytes, more than ${MAX_CONFIG_BYTES}`,
  },
  {
    rule: 4,
    ruleName: "json-depth",
    input: DEPTH_129,
    path: "",
    message:
      "error decoding network config: nested deeper than 128 levels at byte 143 (line 1, column 144)",
    cni: 6,
  },
  {
    rule: 5,
    ruleName: "not-object",
    input: "[1]",
    path: "",
    message: "error decoding network config: expected a JSON object, got [1]",
    cni: 6,
  },
  {
    rule: 6,
    ruleName: "name",
    input: '{"cniVersion":"1.0.0"}',
    path: "name",
    message: "missing network name",
    cni: 7,
  },
  {
    rule: 6,
    ruleName: "name",
    input: '{"name":"","cniVersion":"1.0.0"}',
    path: "name",
    message: "missing network name",
    cni: 7,
  },
  {
    rule: 6,
    ruleName: "name",
    input: '{"name":"a b","cniVersion":"1.0.0"}',
    path: "name",
    message: 'invalid characters found in network name "a b"',
    cni: 7,
  },
  {
    rule: 6,
    ruleName: "name",
    input: '{"name":7,"cniVersion":"1.0.0"}',
    path: "name",
    message: "invalid characters found in network name 7",
    cni: 7,
  },
  {
    rule: 7,
    ruleName: "cni-version-type",
    input: '{"name":"n","cniVersion":1}',
    path: "cniVersion",
    message: "cniVersion must be a string, got 1",
    cni: 6,
  },
  {
    rule: 7,
    ruleName: "cni-version-type",
    input: '{"name":"n","cniVersions":"1.0.0"}',
    path: "cniVersions",
    message: 'cniVersions must be an array of strings, got "1.0.0"',
    cni: 6,
  },
  {
    rule: 8,
    ruleName: "cni-version",
    input: '{"name":"n","cniVersion":"9.9.9"}',
    path: "cniVersion",
    message: 'incompatible CNI versions: cniVersion "9.9.9" is not supported',
    cni: 1,
  },
  {
    rule: 8,
    ruleName: "cni-version",
    input: '{"name":"n","cniVersions":["0.0.1","2.0.0"]}',
    path: "cniVersions",
    message: 'incompatible CNI versions: none of cniVersions ["0.0.1","2.0.0"] is supported',
    cni: 1,
  },
  {
    rule: 9,
    ruleName: "plugins",
    input: '{"name":"n","plugins":[]}',
    path: "plugins",
    message: "plugins must not be empty",
  },
  {
    rule: 9,
    ruleName: "plugins",
    input: '{"name":"n","plugins":{}}',
    path: "plugins",
    message: "plugins must be an array, got object {}",
  },
  {
    rule: 9,
    ruleName: "plugins",
    input: '{"name":"n","plugins":[1]}',
    path: "plugins[0]",
    message: "plugins[0] must be an object, got number 1",
  },
  {
    rule: 10,
    ruleName: "type",
    input: '{"name":"n","plugins":[{}]}',
    path: "plugins[0].type",
    message: "plugins[0].type is required: must be a string",
  },
  {
    rule: 10,
    ruleName: "type",
    input: '{"name":"n","plugins":[{"type":""}]}',
    path: "plugins[0].type",
    message: 'plugins[0].type "" is invalid: name the plugin',
  },
  {
    rule: 10,
    ruleName: "type",
    input: conf('"type":1'),
    path: "type",
    message: "type must be a string, got number 1",
    cni: 7,
  },
  {
    rule: 11,
    ruleName: "device-id",
    input: conf('"deviceID":"0000:3b:00"'),
    path: "deviceID",
    message: 'deviceID "0000:3b:00" is not a PCI address: expected DDDD:BB:DD.F, e.g. 0000:3b:00.2',
    cni: 7,
  },
  {
    rule: 11,
    ruleName: "device-id",
    input: conf('"deviceID":5'),
    path: "deviceID",
    message: "deviceID must be a string, got number 5",
    cni: 7,
  },
  {
    rule: 12,
    ruleName: "device-id-required",
    input: conf('"type":"ib-sriov"'),
    path: "deviceID",
    message: "deviceID is required",
    details:
      "Multus sets deviceID from the device plugin resource named by the NetworkAttachmentDefinition's k8s.v1.cni.cncf.io/resourceName annotation",
    cni: 7,
    command: "ADD",
  },
  {
    rule: 13,
    ruleName: "guid",
    input: conf('"guid":"00:00:00:00:00:00:00:00"'),
    path: "guid",
    message: 'guid "00:00:00:00:00:00:00:00" is not a valid GUID: must not be all zeros',
    cni: 7,
  },
  {
    rule: 13,
    ruleName: "guid",
    input: conf('"runtimeConfig":{"infinibandGUID":"zz"}'),
    path: "runtimeConfig.infinibandGUID",
    message:
      'runtimeConfig.infinibandGUID "zz" is not a valid GUID: must be 8 colon-separated hex bytes (xx:xx:xx:xx:xx:xx:xx:xx)',
    cni: 7,
  },
  {
    rule: 13,
    ruleName: "guid",
    input: conf('"args":{"cni":{"guid":1}}'),
    path: "args.cni.guid",
    message: "args.cni.guid must be a string, got number 1",
    cni: 7,
  },
  {
    rule: 14,
    ruleName: "pkey",
    input: conf('"pkey":"0x8000"'),
    path: "pkey",
    message: 'pkey "0x8000" is invalid: the 15-bit partition key must not be 0',
    cni: 7,
  },
  {
    rule: 14,
    ruleName: "pkey",
    input: conf('"pkey":"0x18001"'),
    path: "pkey",
    message: 'pkey "0x18001" is invalid: must be 0x followed by 1 to 4 hex digits',
    cni: 7,
  },
  {
    rule: 14,
    ruleName: "pkey",
    input: conf('"pkey":5'),
    path: "pkey",
    message: "pkey must be a string, got number 5",
    cni: 7,
  },
  {
    rule: 15,
    ruleName: "link-state",
    input: conf('"link_state":"up"'),
    path: "link_state",
    message: 'link_state "up" is invalid: must be one of auto, enable, disable',
    cni: 7,
  },
  {
    rule: 16,
    ruleName: "boolean",
    input: conf('"ibKubernetesEnabled":"true"'),
    path: "ibKubernetesEnabled",
    message: 'ibKubernetesEnabled must be a boolean, got string "true"',
    cni: 7,
  },
  {
    rule: 17,
    ruleName: "object",
    input: conf('"runtimeConfig":[]'),
    path: "runtimeConfig",
    message: "runtimeConfig must be an object, got array []",
    cni: 7,
  },
  {
    rule: 17,
    ruleName: "object",
    input: conf('"ipam":null'),
    path: "ipam",
    message: "ipam must be an object, got null",
    cni: 7,
  },
  {
    rule: 17,
    ruleName: "object",
    input: conf('"args":{"cni":"x"}'),
    path: "args.cni",
    message: 'args.cni must be an object, got string "x"',
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"subnet":"10.0.0.0/8"}'),
    path: "ipam.type",
    message: "ipam.type is required: must be a string",
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"type":7}'),
    path: "ipam.type",
    message: "ipam.type must be a string, got number 7",
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"type":""}'),
    path: "ipam.type",
    message: 'ipam.type "" is invalid: name the IPAM plugin, e.g. host-local',
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"type":"../../bin/sh"}'),
    path: "ipam.type",
    message: 'ipam.type "../../bin/sh" is invalid: must be the file name of a plugin in CNI_PATH',
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"type":".."}'),
    path: "ipam.type",
    message: 'ipam.type ".." is invalid: must be the file name of a plugin in CNI_PATH',
    cni: 7,
  },
  {
    rule: 18,
    ruleName: "ipam-type",
    input: conf('"ipam":{"type":"host\\u0000local"}'),
    path: "ipam.type",
    message:
      'ipam.type "host\\u0000local" is invalid: must be the file name of a plugin in CNI_PATH',
    cni: 7,
  },
  {
    rule: 19,
    ruleName: "ipam-dhcp",
    input: conf('"ipam":{"type":"dhcp"}'),
    path: "ipam.type",
    message: 'ipam.type "dhcp" is not supported: the VF has no carrier to run a DHCP client on',
    details: "use host-local, static or whereabouts",
    cni: 7,
  },
  {
    rule: 20,
    ruleName: "vfio-with-rdma",
    input: conf('"vfioPciMode":true,"rdmaIsolation":true'),
    path: "vfioPciMode",
    message:
      "vfioPciMode true with rdmaIsolation true is not supported: a vfio-pci device has no RDMA device to isolate",
    cni: 7,
  },
  {
    rule: 21,
    ruleName: "capabilities",
    input: conf('"capabilities":"x"'),
    path: "capabilities",
    message: 'capabilities must be an object, got string "x"',
    cni: 7,
  },
  {
    rule: 21,
    ruleName: "capabilities",
    input: conf('"capabilities":{"a b":1}'),
    path: 'capabilities["a b"]',
    message: 'capabilities["a b"] must be a boolean, got number 1',
    cni: 7,
  },
  {
    rule: 22,
    ruleName: "string",
    input: conf('"args":{"cni":{"mellanox.infiniband.app":true}}'),
    path: 'args.cni["mellanox.infiniband.app"]',
    message: 'args.cni["mellanox.infiniband.app"] must be a string, got boolean true',
    cni: 7,
  },
  {
    rule: 23,
    ruleName: "log-level",
    input: conf('"logLevel":"trace"'),
    path: "logLevel",
    message: 'logLevel "trace" is ignored: must be one of error, warning, info, debug',
    details: LOG_LEVEL_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"rel/../x.log"'),
    path: "logFile",
    message: 'logFile "rel/../x.log" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/a\\u0000b"'),
    path: "logFile",
    message: 'logFile "/var/log/a\\u0000b" is ignored: must be beneath "/var/log/ib-sriov/" or ' +
      "relative to it",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":5'),
    path: "logFile",
    message: "logFile must be a string, got number 5",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf(`"logFile":"${"d/".repeat(2039)}x"`),
    path: "logFile",
    message: `logFile "${"d/".repeat(40)}"… (4079 chars) is ignored: ` +
      "must be at most 4095 bytes long once beneath it, with names of at most 255",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"deviceID":"0000:3b:00.2","runtimeConfig":{"CNIDeviceInfoFile":"/etc/sudoers.d/x"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/etc/sudoers.d/x" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
    command: "ADD",
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/../../../../etc/passwd"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/../../../../etc/passwd" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/.."}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/.." is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/."}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/." is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/"}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/dp/res-0000:3b:00.2-device.json"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/dp/res-0000:3b:00.2-device.json" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/sub/x"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/sub/x" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni//x"}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni//x" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/a\\u0000b"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/a\\u0000b" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":"var/run/k8s.cni.cncf.io/devinfo/cni/x"}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "var/run/k8s.cni.cncf.io/devinfo/cni/x" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      '"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni\\u002fx/../y"}',
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message:
      `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/x/../y" is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf(
      `"runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/${
        "é".repeat(128)
      }"}`,
    ),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message: `runtimeConfig.CNIDeviceInfoFile "/var/run/k8s.cni.cncf.io/devinfo/cni/${
      "é".repeat(43)
    }"… (165 chars) is invalid: must be a file name directly in /var/run/k8s.cni.cncf.io/devinfo/cni/ (no "..", "." or "/" after it, at most 255 bytes)`,
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 25,
    ruleName: "device-info-file",
    input: conf('"runtimeConfig":{"CNIDeviceInfoFile":7}'),
    path: "runtimeConfig.CNIDeviceInfoFile",
    message: "runtimeConfig.CNIDeviceInfoFile must be a string, got number 7",
    details: DEVICE_INFO_DETAILS,
    cni: 7,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/etc/sudoers.d/x"'),
    path: "logFile",
    message: 'logFile "/etc/sudoers.d/x" is ignored: must be beneath "/var/log/ib-sriov/" ' +
      "or relative to it",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov"'),
    path: "logFile",
    message: 'logFile "/var/log/ib-sriov" is ignored: must be beneath "/var/log/ib-sriov/" ' +
      "or relative to it",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov-x/a.log"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov-x/a.log" is ignored: must be beneath "/var/log/ib-sriov/" ' +
      "or relative to it",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov/../../../etc/ld.so.preload"'),
    path: "logFile",
    message: 'logFile "/var/log/ib-sriov/../../../etc/ld.so.preload" is ignored: ' +
      "must not contain NUL, or empty, . or .. segments",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov/"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov/" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov//x.log"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov//x.log" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov/./x.log"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov/./x.log" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov/sub/"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov/sub/" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf('"logFile":"/var/log/ib-sriov/\\u002e\\u002e/x"'),
    path: "logFile",
    message:
      'logFile "/var/log/ib-sriov/../x" is ignored: must not contain NUL, or empty, . or .. segments',
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf(`"logFile":"/var/log/ib-sriov/${"n".repeat(256)}"`),
    path: "logFile",
    message: `logFile "/var/log/ib-sriov/${"n".repeat(62)}"… (274 chars) is ignored: ` +
      "must be at most 4095 bytes long once beneath it, with names of at most 255",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
  {
    rule: 24,
    ruleName: "log-file",
    input: conf(`"logFile":"/var/log/ib-sriov/${"d/".repeat(2039)}x"`),
    path: "logFile",
    message: `logFile "/var/log/ib-sriov/${"d/".repeat(31)}"… (4097 chars) is ignored: ` +
      "must be at most 4095 bytes long once beneath it, with names of at most 255",
    details: LOG_FILE_DETAILS,
    warning: true,
  },
];

function bytesOf(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? encode(input) : input;
}

function label(row: RuleRow): string {
  return `rule ${row.rule}: ${typeof row.input === "string" ? row.input : row.message}`;
}

/** The version an error of `row` is written in: the config's, once its version rules pass. */
function errorVersion(row: RuleRow): string {
  return row.rule <= ValidatorRule.Version ? "1.1.0" : "1.0.0";
}

async function runDispatch(
  command: Command,
  stdin: Uint8Array,
): Promise<{ status: number; stdout: string; handled: number; problem?: CniError }> {
  let stdout = "";
  let handled = 0;
  let problem: CniError | undefined;
  const handle = (req: CniRequest) => {
    handled++;
    problem = req.configProblem;
    return Promise.resolve();
  };
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/var/run/netns/p",
    CNI_IFNAME: "net1",
    CNI_PATH: "/opt/cni/bin",
  };
  const status = await dispatch(
    {
      getenv: (name) => env[name],
      readStdin: () => Promise.resolve(stdin),
      stdout: (text) => void (stdout += text),
      stderr: () => {},
    },
    {
      add: () => {
        handled++;
        return Promise.reject(new Error("ADD ran"));
      },
      del: handle,
      check: handle,
      status: handle,
      gc: handle,
    },
    "test",
  );
  return { status, stdout, handled, ...(problem === undefined ? {} : { problem }) };
}

Deno.test("the rule table has a row for every validator rule", () => {
  const covered = new Set(RULES.map((row) => row.rule));
  const missing = Object.entries(ValidatorRule).filter(([, code]) => !covered.has(code));
  assert.deepEqual(missing, []);
});

Deno.test("validateConfigBytes() reports each rule with its code, name, severity, path, message and details", () => {
  for (const row of RULES) {
    const pluginConfig = row.cni !== undefined || row.warning === true;
    const found = validateConfigBytes(
      bytesOf(row.input),
      {
        pluginConfig,
        requireDeviceId: row.command === "ADD",
      } satisfies ValidateOptions,
    );
    assert.deepEqual(
      found.map(({ rule, ruleName, severity, path, message, details }) => ({
        rule,
        ruleName,
        severity,
        path,
        message,
        ...(details === undefined ? {} : { details }),
      })),
      [{
        rule: row.rule,
        ruleName: row.ruleName,
        severity: row.warning ? "warning" : "error",
        path: row.path,
        message: row.message,
        ...(row.details === undefined ? {} : { details: row.details }),
      }],
      label(row),
    );
  }
});

Deno.test("dispatch() answers each rule with its CNI code and the whole message, and runs no handler", async () => {
  for (const row of RULES) {
    if (row.cni === undefined) continue;
    const run = await runDispatch(row.command ?? "DEL", bytesOf(row.input));
    // Stdin over the size limit is not even read.
    const fatalForDel = [ValidatorRule.VersionType, ValidatorRule.Version, ValidatorRule.JsonSize];
    if (row.command === undefined && !(fatalForDel as number[]).includes(row.rule)) {
      // DEL goes on from its attachment record with any config it can answer in: its handler
      // gets the error to log instead.
      assert.ok(run.problem !== undefined, label(row));
      assert.deepEqual(
        { status: run.status, handled: run.handled },
        { status: 0, handled: 1 },
        label(row),
      );
      const { code, message, details } = run.problem;
      assert.deepEqual(
        { code, msg: message, ...(details === "" ? {} : { details }) },
        {
          code: row.cni,
          msg: row.cniMessage ?? row.message,
          ...(row.details === undefined ? {} : { details: row.details }),
        },
        label(row),
      );
      continue;
    }
    assert.equal(run.status, 1, label(row));
    assert.equal(run.handled, 0, label(row));
    assert.deepEqual(
      JSON.parse(run.stdout),
      {
        cniVersion: errorVersion(row),
        code: row.cni,
        msg: row.cniMessage ?? row.message,
        ...(row.details === undefined ? {} : { details: row.details }),
      },
      label(row),
    );
  }
});

Deno.test("loadNetConf() refuses each field rule exactly as dispatch() does", () => {
  for (const row of RULES) {
    if (row.cni === undefined || row.rule <= ValidatorRule.Version) continue;
    const config = JSON.parse(new TextDecoder().decode(bytesOf(row.input)));
    let caught: unknown;
    try {
      loadNetConf(config, "1.0.0", row.command ?? "DEL");
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof CniError, label(row));
    assert.deepEqual(
      { code: caught.code, message: caught.message, details: caught.details },
      { code: row.cni, message: row.message, details: row.details ?? "" },
      label(row),
    );
  }
});

Deno.test("dispatch() runs the handler for a config whose only violations are warnings, and loadNetConf() ignores the field", async () => {
  const rows = RULES.filter((row) => row.warning);
  assert.deepEqual([...new Set(rows.map((row) => row.rule))], [23, 24]);
  for (const row of rows) {
    for (const command of ["ADD", "DEL"] as const) {
      const stdin = bytesOf(row.input).slice(0, -1);
      const input = encode(`${new TextDecoder().decode(stdin)},"deviceID":"0000:3b:00.2"}`);
      const run = await runDispatch(command, input);
      const expected = command === "ADD"
        ? { status: 1, stdout: run.stdout, handled: 1 } // the fake ADD handler fails
        : { status: 0, stdout: "", handled: 1 };
      assert.deepEqual(run, expected, label(row));
    }
    const config = JSON.parse(new TextDecoder().decode(bytesOf(row.input)));
    const conf = loadNetConf(config, "1.0.0", "DEL");
    assert.equal(conf.logLevel, "info", label(row));
    assert.equal(conf.logFile, undefined, label(row));
    assert.deepEqual(
      conf.warnings?.map(({ rule, severity, path, message, details }) => ({
        rule,
        severity,
        path,
        message,
        details,
      })),
      [{
        rule: row.rule,
        severity: "warning",
        path: row.path,
        message: row.message,
        details: row.details,
      }],
      label(row),
    );
  }
});

Deno.test("a config of exactly 4 MiB is read and validated by the plugin", async () => {
  const head = '{"name":"n","cniVersion":"1.0.0"}';
  const exact = encode(head + " ".repeat(MAX_CONFIG_BYTES - head.length));
  assert.deepEqual(validateConfigBytes(exact, { pluginConfig: true }), []);
  const run = await runDispatch("DEL", exact);
  assert.deepEqual(run, { status: 0, stdout: "", handled: 1 });
});

/** Configs that break no rule, read the way JSON.parse reads them: last duplicate key wins. */
const VALID: string[] = [
  conf('"type":"ib-sriov","deviceID":"0000:3b:00.2"'),
  '{"name":"n"}',
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "ib-net",
    deviceID: "0000:3b:00.2",
    guid: "02:00:00:00:00:00:00:0a",
    runtimeConfig: {
      infinibandGUID: "FF:FF:FF:FF:FF:FF:FF:FF",
      ips: ["10.0.0.2/24"],
      CNIDeviceInfoFile: "/var/run/k8s.cni.cncf.io/devinfo/cni/ib-net-0123abcd_net1",
    },
    args: { cni: { guid: "00:11:22:33:44:55:66:77", "mellanox.infiniband.app": "a", z: null } },
    capabilities: { infinibandGUID: true, ips: true },
    dns: { nameservers: ["1.1.1.1"] },
    prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "net1" }], ips: [] },
    logLevel: "debug",
    logFile: "/var/log/ib-sriov/ib-sriov.log",
    vfioPciMode: true,
    rdmaIsolation: false,
    Master: "ib0",
    "cni.dev/valid-attachments": [],
  }),
  '\ufeff{"name":"n","cniVersion":"1.1.0"}',
  ' \t\r\n{ "name" : "n" , "gu\\u0069d" : "02:00:00:00:00:00:00:0b" }\n',
  '{"name":"bad name","name":"n","guid":1,"guid":"02:00:00:00:00:00:00:0c"}',
  '{"name":"n","cniVersion":"","cniVersions":["0.4.0","7"]}',
  '{"name":"n","ipam":{"type":"dhcp","type":"static"}}',
  '{"name":"n","capabilities":{"a":1,"a":true}}',
  '{"name":"n","deviceID":"0000:3B:1f.7","pkey":"0x7fff","link_state":"disable"}',
  '{"name":"n","runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/..."}}',
  `{"name":"n","runtimeConfig":{"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/${
    "é".repeat(127)
  }x"}}`,
  '{"name":"n","runtimeConfig":{"CNIDeviceInfoFile":1,"CNIDeviceInfoFile":"/var/run/k8s.cni.cncf.io/devinfo/cni/.x"}}',
  '{"name":"n","plugins":"not a list here","__proto__":{"guid":1}}',
  // The SR-IOV network operator's config without IPAM; logging fields that are used as given.
  '{"cniVersion":"1.0.0","deviceID":"0000:3b:00.2","ipam":{},"name":"n","type":"ib-sriov"}',
  '{"name":"n","logFile":"sriov.log","logLevel":"error"}',
  '{"name":"n","logFile":""}',
  // Empty is unset, as the Go plugin reads these.
  '{"name":"n","link_state":"","pkey":"","guid":"","runtimeConfig":{"infinibandGUID":""},"args":{"cni":{"guid":""}}}',
];

Deno.test("a config that breaks no rule passes the validator, dispatch() and loadNetConf()", async () => {
  for (const text of VALID) {
    assert.deepEqual(validateConfigBytes(encode(text), { pluginConfig: true }), [], text);
    const run = await runDispatch("DEL", encode(text));
    assert.deepEqual(run, { status: 0, stdout: "", handled: 1 }, text);
    const config = JSON.parse(text.replace(/^\ufeff/, ""));
    assert.equal(loadNetConf(config, "1.0.0", "DEL").name, config.name, text);
  }
});
