/**
 * A PCI address as the kernel names a device in sysfs, `DDDD:BB:DD.F`: domain (four or more hex
 * digits), bus, device (5 bits) and function (3 bits), any case; the groups are the four parts.
 * A config's `deviceID` is narrower (exactly four domain digits): that rule is the validator's.
 */
export const PCI_ADDRESS = /^([0-9a-f]{4,}):([0-9a-f]{2}):([01][0-9a-f])\.([0-7])$/i;
