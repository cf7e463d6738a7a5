import { Errno, LibcError } from "../../ffi/errno.ts";
import {
  type LinkInfo,
  type Netlink,
  NetlinkError,
  type Netns,
  NleCode,
  type RouteSpec,
  type VfChange,
  type VfLinkState,
  type VfSettings,
} from "../../lib/netlink/netlink.ts";
import type { PciDriver } from "../../lib/netlink/pci_driver.ts";
import { THREAD_NETNS_PATH } from "../../lib/netlink/netns.ts";
import type { Rdma, RdmaNetnsMode } from "../../lib/netlink/rdma.ts";
import type { Sysfs } from "../../lib/sysfs/sysfs.ts";
import { Faults } from "./faults.ts";

/** The host namespace's path in the in-memory kernel. */
export const HOST_NETNS = THREAD_NETNS_PATH;

/** The InfiniBand driver: the only one whose probe creates a netdev and an RDMA device. */
const MLX5_CORE = "mlx5_core";

/** The MTU mlx5 gives a new IPoIB netdev. */
const IPOIB_MTU = 4092;
/** The MTU range the fake netdevs accept: IPv4's minimum, and the largest the kernel allows. */
const MIN_MTU = 68;
const MAX_MTU = 65535;

/** QPN flags and GID prefix: the first 12 bytes of an IPoIB link address. */
const IPOIB_PREFIX = "00:00:10:87:fe:80:00:00:00:00:00:00";

const GUID_RE = /^([0-9a-f]{2}:){7}[0-9a-f]{2}$/i;

interface FakeLink extends LinkInfo {
  addresses: string[];
  routes: RouteSpec[];
  /** The PCI device behind a physical link; virtual links have none. */
  pci?: string;
}

/** A device's node and port GUID, lower-case colon form (`02:00:00:00:00:00:00:01`). */
export interface Guids {
  nodeGuid: string;
  portGuid: string;
}

/** What a PF's driver can do with its VF table; see {@link FakeKernel.addPf}. */
export interface FakePfOptions {
  /** Whether `setVf` may change VF GUIDs (`ndo_set_vf_guid`); default true. */
  vfGuids?: boolean;
  /** Whether `setVf` may change a VF's link state (`ndo_set_vf_link_state`); default true. */
  vfLinkState?: boolean;
  /** Whether `vfSettings` reports VF GUIDs (`ndo_get_vf_guid`); default true. */
  reportsGuids?: boolean;
  /**
   * Whether `vfSettings` fails with EMSGSIZE, as a kernel with the many-VFs regression does for
   * this PF's VF list; default false.
   */
  vfListTooLarge?: boolean;
}

interface FakeVf {
  pf: string;
  index: number;
  linkState: VfLinkState;
}

interface FakePci {
  physfn?: string;
  virtfns?: string[];
  driver: string | null;
  /** For a PF: what its driver can do with VF settings. */
  pfOptions?: Required<FakePfOptions>;
  /** For a VF: its index and link state in the PF's VF table. */
  vf?: FakeVf;
  /**
   * The GUIDs the driver reads at its next probe: a VF's entry in its PF's VF table, or a PF's
   * own. `setVf` changes them for a VF; the VF's netdev and RDMA device see them only after a
   * rebind, as with mlx5.
   */
  guids: Guids;
  /** The GUIDs the bound driver read at its last probe; `null` when mlx5 does not hold it. */
  probed: Guids | null;
  /** First 12 bytes of its IPoIB link address, kept across rebinds. */
  addressPrefix: string;
  /** The name it had when the node was built: what a persistent-name udev rule gives back. */
  bootName: string | null;
  /** Bumped when its netdev is destroyed, so a netdev creation scheduled before is dropped. */
  epoch: number;
}

interface FakeRdmaDevice {
  name: string;
  pci: string;
  /** The namespace it belongs to (exclusive mode). */
  netns: string;
  nodeGuid: string;
}

/** A description of one VF for {@link FakeKernel.addPf}. */
export interface FakeVfSpec {
  pci: string;
  netdev: string;
  /**
   * IPoIB link address (20 bytes); its last 8 bytes are the port GUID. Derived from the port
   * GUID by default.
   */
  address?: string;
  up?: boolean;
  altNames?: string[];
  /** The netdev's MTU at boot; a probe makes it with the IPoIB default (4092). */
  mtu?: number;
  /** Node GUID in the VF table and as probed; derived from a node-wide VF number by default. */
  nodeGuid?: string;
  /** Port GUID in the VF table and as probed; derived as `nodeGuid` is. */
  portGuid?: string;
  /** `IFLA_VF_LINK_STATE` in the VF table; `auto` by default. */
  linkState?: VfLinkState;
}

/**
 * A udev rule for new netdevs: given the PCI address and the name the kernel gave, the name to
 * rename it to, or `null` to leave it.
 */
export type UdevRule = (pci: string, kernelName: string) => string | null;

/** A VF's state, comparable across rebinds (which change ifindexes and RDMA device names). */
export interface VfView {
  driver: string | null;
  /** The namespace its netdev is in; `null` when it has none. */
  netns: string | null;
  netdev: string | null;
  up: boolean | null;
  mtu: number | null;
  altNames: string[] | null;
  /** The VF table entry, as the PF holds it. */
  nodeGuid: string;
  portGuid: string;
  linkState: VfLinkState;
  /** The GUIDs its driver read at its last probe: what its netdev and RDMA device carry. */
  probed: Guids | null;
  /** The namespace its RDMA device is in; `null` when it has none. */
  rdmaNetns: string | null;
}

/** The node, reduced to what must be the same before and after an ADD that failed or ADD+DEL. */
export interface NodeView {
  /** Link names per namespace, sorted. */
  links: Record<string, string[]>;
  /** Every VF by PCI address. */
  vfs: Record<string, VfView>;
}

/**
 * An errno from the in-memory kernel; the message ends with the errno's name, which is also its
 * `reason`, as libnl's text is a `NetlinkError`'s.
 */
export class KernelError extends Error {
  override name = "KernelError";
  /** The errno's name, e.g. `EBUSY`. */
  readonly errno: string;
  /** The errno's name again: what went wrong, without what was attempted. */
  readonly reason: string;

  /**
   * @param errno the errno's name
   * @param message what was attempted
   */
  constructor(errno: string, message: string) {
    super(`${message}: ${errno}`);
    this.errno = errno;
    this.reason = errno;
  }
}

/** `02:00:00:00:00:00:00:01` to the sysfs `node_guid` form `0200:0000:0000:0001`. */
function sysfsGuid(guid: string): string {
  return guid.replaceAll(":", "").match(/.{4}/g)!.join(":");
}

/** The default GUIDs of the n-th device of the node: node and port differ, so a swap shows. */
function defaultGuids(n: number): Guids {
  const hex = n.toString(16).padStart(4, "0");
  const tail = `${hex.slice(0, 2)}:${hex.slice(2)}`;
  return { nodeGuid: `02:00:00:00:00:01:${tail}`, portGuid: `02:00:00:00:00:00:${tail}` };
}

function normalizeGuid(guid: string, what: string): string {
  if (!GUID_RE.test(guid)) throw new KernelError("EINVAL", `${what} ${guid}`);
  return guid.toLowerCase();
}

/**
 * An in-memory kernel for the plugin tier: namespaces with links (names, altnames, up flag,
 * addresses, routes), a PCI tree of PFs and VFs with the PF's VF table (GUIDs, link state),
 * driver binding, and RDMA devices with their namespaces, behind the same `Netlink`, `Sysfs`,
 * `PciDriver` and `Rdma` interfaces the plugin uses.
 *
 * It enforces the kernel rules the plugin must respect: unique names including altnames, rename
 * only while down, addresses flushed on a namespace move, physical links and RDMA devices
 * returned to the host when their namespace dies; a VF GUID set through the PF reaches the VF
 * only when mlx5 probes it again (unbind, bind), and the probe makes a new netdev (`ib<N>`, new
 * ifindex, down, in the host) and a new RDMA device (`mlx5_<k>`); moving an RDMA device
 * recreates its IPoIB netdev in the host. It fails the N-th mutating operation on request, and
 * keeps a fake clock that `sleep` advances, so waits for a netdev cost no wall time.
 */
export class FakeKernel implements Netlink, Sysfs, PciDriver, Rdma {
  readonly faults: Faults;
  readonly #namespaces = new Map<string, Map<number, FakeLink>>();
  readonly #pci = new Map<string, FakePci>();
  readonly #rdma: FakeRdmaDevice[] = [];
  /** Paths that exist but are not namespaces. */
  readonly #plainFiles = new Set<string>();
  /** Work the kernel or udev does later, on the fake clock. */
  readonly #timers: { at: number; run: () => void }[] = [];
  #nextIndex = 1;
  #nextFd = 100;
  /** ib_core numbers RDMA devices node-wide and never reuses a name while the node runs. */
  #nextRdma = 0;
  /** Devices added so far, for default GUIDs. */
  #devices = 0;
  #rdmaMode: RdmaNetnsMode | "unsupported" = "exclusive";
  #rdmaMoveRecreatesNetdev = true;
  #udev: UdevRule | null = null;
  #portGuidRefusal: string | null = null;
  #netdevDelayMs = 0;
  #udevDelayMs = 0;
  #now = 0;

  /** @param faults shared with the fake IPAM so one counter covers the whole ADD */
  constructor(faults = new Faults()) {
    this.faults = faults;
    this.#namespaces.set(HOST_NETNS, new Map());
    this.addLink(HOST_NETNS, { name: "lo", mtu: 65536, address: "00:00:00:00:00:00", up: true });
  }

  // ---- world building (not counted as faults) ----

  /** Creates an empty namespace at `path` with a loopback link. */
  addNetns(path: string): void {
    this.#namespaces.set(path, new Map());
    this.addLink(path, { name: "lo", mtu: 65536, address: "00:00:00:00:00:00", up: true });
  }

  /** Whether a namespace exists at `path`. */
  hasNetns(path: string): boolean {
    return this.#namespaces.has(path);
  }

  /** Makes `path` exist as something that is not a namespace. */
  addPlainFile(path: string): void {
    this.#plainFiles.add(path);
  }

  /**
   * Destroys a namespace as the kernel does: its RDMA devices go back to the host first (ib_core's
   * pernet exit runs before the netdev core's; in exclusive mode that recreates their IPoIB
   * netdevs in the host), then its physical links go back to the host (renamed `dev<ifindex>`
   * when their name is taken there); virtual links die with it.
   */
  deleteNetns(path: string): void {
    const links = this.#ns(path);
    for (const dev of this.#rdma.filter((d) => d.netns === path)) this.#moveRdma(dev, HOST_NETNS);
    this.#namespaces.delete(path);
    for (const link of links.values()) {
      if (link.pci === undefined) continue;
      link.up = false;
      link.addresses = [];
      link.routes = [];
      if (this.#nameTaken(HOST_NETNS, link.name)) link.name = `dev${link.index}`;
      this.#ns(HOST_NETNS).set(link.index, link);
    }
  }

  /** Adds a link to a namespace and returns its ifindex. */
  addLink(
    ns: string,
    link: Omit<FakeLink, "index" | "altNames" | "addresses" | "routes"> & Partial<FakeLink>,
  ): number {
    const index = this.#nextIndex++;
    this.#ns(ns).set(index, { altNames: [], addresses: [], routes: [], ...link, index });
    return index;
  }

  /**
   * Adds a PF with netdev `pfName`, its RDMA device and its VFs (netdevs and RDMA devices in the
   * host, drivers `mlx5_core`, the VF table agreeing with what each VF probed).
   *
   * @param pfPci the PF's PCI address
   * @param pfName the PF's netdev
   * @param vfs the VFs, VF 0 first
   * @param options what the PF's driver can do with its VF table (all true by default)
   * @throws {Error} when a VF's `address` and `portGuid` disagree
   */
  addPf(pfPci: string, pfName: string, vfs: FakeVfSpec[], options: FakePfOptions = {}): void {
    this.#pci.set(pfPci, {
      ...this.#newDevice(pfName, defaultGuids(this.#devices++), IPOIB_PREFIX),
      virtfns: vfs.map((v) => v.pci),
      pfOptions: {
        vfGuids: true,
        vfLinkState: true,
        reportsGuids: true,
        vfListTooLarge: false,
        ...options,
      },
    });
    this.#probe(pfPci, MLX5_CORE, { name: pfName, up: true, altNames: [], mtu: IPOIB_MTU });
    vfs.forEach((vf, index) => {
      const defaults = defaultGuids(this.#devices++);
      const fromAddress = vf.address?.toLowerCase().slice(36);
      if (fromAddress !== undefined && vf.portGuid !== undefined && vf.portGuid !== fromAddress) {
        throw new Error(`FakeVfSpec ${vf.pci}: address ${vf.address} and portGuid disagree`);
      }
      const guids = {
        nodeGuid: normalizeGuid(vf.nodeGuid ?? defaults.nodeGuid, "node_guid"),
        portGuid: normalizeGuid(vf.portGuid ?? fromAddress ?? defaults.portGuid, "port_guid"),
      };
      this.#pci.set(vf.pci, {
        ...this.#newDevice(vf.netdev, guids, vf.address?.slice(0, 35) ?? IPOIB_PREFIX),
        physfn: pfPci,
        vf: { pf: pfPci, index, linkState: vf.linkState ?? "auto" },
      });
      this.#probe(vf.pci, MLX5_CORE, {
        name: vf.netdev,
        up: vf.up ?? false,
        altNames: vf.altNames ?? [],
        mtu: vf.mtu ?? IPOIB_MTU,
      });
    });
  }

  /** Changes what a PF's driver can do with its VF table. */
  setPfOptions(pfPci: string, options: FakePfOptions): void {
    const pf = this.#pciDev(pfPci).pfOptions;
    if (pf === undefined) throw new Error(`${pfPci} is not a PF`);
    Object.assign(pf, options);
  }

  /**
   * Sets a VF's table entry and what its driver probed, as if the node had booted that way (an
   * all-zero GUID is what a VF that was never given one has): its netdev's address and its RDMA
   * device's `node_guid` follow.
   */
  setBootGuids(pci: string, guids: Partial<Guids>): void {
    const dev = this.#pciDev(pci);
    dev.guids = {
      nodeGuid: normalizeGuid(guids.nodeGuid ?? dev.guids.nodeGuid, "node_guid"),
      portGuid: normalizeGuid(guids.portGuid ?? dev.guids.portGuid, "port_guid"),
    };
    if (dev.probed === null) return;
    dev.probed = { ...dev.guids };
    for (const link of this.#linksOf(pci)) link.address = this.#address(dev);
    for (const rdma of this.#rdma.filter((d) => d.pci === pci)) rdma.nodeGuid = dev.guids.nodeGuid;
  }

  /** Adds a PCI device that is not a VF (a PF without SR-IOV, say), without netdev. */
  addPlainPci(pci: string, driver: string | null): void {
    this.#pci.set(pci, {
      ...this.#newDevice(null, defaultGuids(this.#devices++), IPOIB_PREFIX),
      driver,
    });
  }

  /**
   * Binds a PCI device to a driver (or unbinds it with `null`) at once, as world building: the
   * old driver's netdev and RDMA device vanish; `mlx5_core` makes new ones (see `bind`), any
   * other driver (`vfio-pci`) none. Nothing happens when the driver is already the one bound.
   */
  setDriver(pci: string, driver: string | null): void {
    const dev = this.#pciDev(pci);
    if (dev.driver === driver) return;
    this.#detach(pci);
    if (driver !== null) this.#probe(pci, driver, null);
  }

  /**
   * Removes a VF from the PCI tree, as disabling SR-IOV on its PF does (`sriov_numvfs` to 0):
   * its netdev and RDMA device vanish wherever they are, and so does the device.
   */
  removeVf(pci: string): void {
    this.#detach(pci);
    this.#pci.delete(pci);
  }

  /**
   * Sets the RDMA subsystem's netns mode, or makes RDMA netlink absent (`unsupported`, as
   * without `ib_core`).
   *
   * @throws {Error} when leaving exclusive mode while an RDMA device is outside the host (the
   * kernel refuses with EBUSY)
   */
  setRdmaMode(mode: RdmaNetnsMode | "unsupported"): void {
    if (mode !== "exclusive" && this.#rdma.some((d) => d.netns !== HOST_NETNS)) {
      throw new Error(`cannot switch RDMA to ${mode}: devices are outside the host`);
    }
    this.#rdmaMode = mode;
  }

  /** Whether moving an RDMA device recreates its IPoIB netdev in the host (true by default). */
  setRdmaMoveRecreatesNetdev(on: boolean): void {
    this.#rdmaMoveRecreatesNetdev = on;
  }

  /**
   * What udev does with a new netdev: `none` (the kernel's `ib<N>` stays; the default),
   * `persistent` (it gets back the name it had when the node was built, as a persistent-name
   * rule does), or any rule.
   */
  setUdevRename(rule: "none" | "persistent" | UdevRule): void {
    this.#udev = rule === "none"
      ? null
      : rule === "persistent"
      ? (pci) => this.#pci.get(pci)?.bootName ?? null
      : rule;
  }

  /**
   * Delays, on the fake clock, from a probe (bind, RDMA move) to the new netdev, and from the
   * new netdev to udev's rename; both 0 by default. `Infinity` means never.
   */
  setProbeTiming(timing: { netdevDelayMs?: number; udevDelayMs?: number }): void {
    this.#netdevDelayMs = timing.netdevDelayMs ?? this.#netdevDelayMs;
    this.#udevDelayMs = timing.udevDelayMs ?? this.#udevDelayMs;
  }

  /**
   * Makes the next `setVf` with a port GUID apply what comes before it (link state, node GUID)
   * and then refuse the port GUID with `errno`: the kernel's do_setvfinfo() takes each
   * IFLA_VF_INFO in turn and stops at the first refusal, and the port GUID has one of its own.
   */
  refuseNextPortGuid(errno: string): void {
    this.#portGuidRefusal = errno;
  }

  /** The fake clock, in milliseconds since the kernel was made. */
  get now(): number {
    return this.#now;
  }

  /**
   * Advances the fake clock by `ms`, running what the kernel and udev do meanwhile; resolves at
   * once. Pass it as `Deps.sleep`.
   */
  sleep(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.run();
    }
    this.#now = end;
    return Promise.resolve();
  }

  /** A deep, comparable copy of every namespace's links. */
  snapshot(): Record<string, FakeLink[]> {
    const out: Record<string, FakeLink[]> = {};
    for (const [path, links] of [...this.#namespaces].sort(([a], [b]) => a.localeCompare(b))) {
      out[path] = [...links.values()].sort((a, b) => a.index - b.index).map((l) =>
        structuredClone(l)
      );
    }
    return out;
  }

  /** The links of one namespace, by name. */
  linksIn(ns: string): Map<string, FakeLink> {
    return new Map([...this.#ns(ns).values()].map((l) => [l.name, structuredClone(l)]));
  }

  /** Names of the RDMA devices in a namespace (whatever the mode), sorted. */
  rdmaIn(ns: string): string[] {
    return this.#rdma.filter((d) => d.netns === ns).map((d) => d.name).sort();
  }

  /** One VF's state, comparable across rebinds. */
  vfView(pci: string): VfView {
    const dev = this.#pciDev(pci);
    if (dev.vf === undefined) throw new Error(`${pci} is not a VF`);
    let netdev: { ns: string; link: FakeLink } | null = null;
    for (const [ns, links] of this.#namespaces) {
      for (const link of links.values()) if (link.pci === pci) netdev = { ns, link };
    }
    return {
      driver: dev.driver,
      netns: netdev?.ns ?? null,
      netdev: netdev?.link.name ?? null,
      up: netdev?.link.up ?? null,
      mtu: netdev?.link.mtu ?? null,
      altNames: netdev === null ? null : [...netdev.link.altNames],
      nodeGuid: dev.guids.nodeGuid,
      portGuid: dev.guids.portGuid,
      linkState: dev.vf.linkState,
      probed: dev.probed === null ? null : { ...dev.probed },
      rdmaNetns: this.#rdma.find((d) => d.pci === pci)?.netns ?? null,
    };
  }

  /** Link names per namespace and every VF's {@link VfView}: compare it before and after. */
  view(): NodeView {
    const links: Record<string, string[]> = {};
    for (const path of [...this.#namespaces.keys()].sort()) {
      links[path] = [...this.#ns(path).values()].map((l) => l.name).sort();
    }
    const vfs: Record<string, VfView> = {};
    for (const [pci, dev] of [...this.#pci].sort(([a], [b]) => a.localeCompare(b))) {
      if (dev.vf !== undefined) vfs[pci] = this.vfView(pci);
    }
    return { links, vfs };
  }

  // ---- Netlink ----

  openNetns(path: string): Netns {
    if (!this.#namespaces.has(path)) {
      if (this.#plainFiles.has(path)) {
        throw new LibcError("setns", Errno.EINVAL, "not a network namespace");
      }
      throw new LibcError("open", Errno.ENOENT, "no such file");
    }
    // A closed handle fails like a closed fd would, so a handle used after its `using` scope
    // ended is caught here as it would be on the real kernel.
    let fd = this.#nextFd++;
    const close = () => void (fd = -1);
    return {
      path,
      get fd() {
        return fd;
      },
      close,
      [Symbol.dispose]: close,
    };
  }

  hostNetns(): Netns {
    return this.openNetns(HOST_NETNS);
  }
  sameNetns(a: Netns, b: Netns): boolean {
    return this.#open(a) === this.#open(b);
  }

  linkByName(ns: Netns, name: string): LinkInfo | null {
    // The kernel matches alternative names too.
    const link = [...this.#open(ns).values()].find((l) =>
      l.name === name || l.altNames.includes(name)
    );
    return link === undefined ? null : this.#info(link);
  }

  linkByIndex(ns: Netns, index: number): LinkInfo | null {
    const link = this.#open(ns).get(index);
    return link === undefined ? null : this.#info(link);
  }

  setLinkUp(ns: Netns, index: number, up: boolean): void {
    const link = this.#link(ns, index);
    this.faults.step(`set ${link.name} ${up ? "up" : "down"} in ${ns.path}`);
    link.up = up;
  }

  renameLink(ns: Netns, index: number, name: string): void {
    const link = this.#link(ns, index);
    this.faults.step(`rename ${link.name} to ${name} in ${ns.path}`);
    if (link.up) throw new KernelError("EBUSY", `rename ${link.name}`);
    if (link.name === name) return;
    if (this.#nameTaken(ns.path, name)) {
      throw new KernelError("EEXIST", `rename ${link.name} to ${name}`);
    }
    link.name = name;
  }

  setMtu(ns: Netns, index: number, mtu: number): void {
    const link = this.#link(ns, index);
    this.faults.step(`set mtu of ${link.name} to ${mtu} in ${ns.path}`);
    if (mtu < MIN_MTU || mtu > MAX_MTU) throw new KernelError("EINVAL", `set mtu ${mtu}`);
    link.mtu = mtu;
  }

  addAltName(ns: Netns, index: number, altName: string): void {
    const link = this.#link(ns, index);
    this.faults.step(`add altname ${altName} to ${link.name} in ${ns.path}`);
    if (this.#nameTaken(ns.path, altName)) {
      throw new KernelError("EEXIST", `add altname ${altName}`);
    }
    link.altNames = [...link.altNames, altName];
  }

  deleteAltName(ns: Netns, index: number, altName: string): void {
    const link = this.#link(ns, index);
    this.faults.step(`delete altname ${altName} of ${link.name} in ${ns.path}`);
    if (!link.altNames.includes(altName)) {
      throw new KernelError("ENOENT", `delete altname ${altName}`);
    }
    link.altNames = link.altNames.filter((a) => a !== altName);
  }

  moveLink(ns: Netns, index: number, target: Netns, name?: string): void {
    const link = this.#link(ns, index);
    this.faults.step(
      `move ${link.name} from ${ns.path} to ${target.path}${
        name === undefined ? "" : ` as ${name}`
      }`,
    );
    const dest = this.#open(target);
    // The kernel moves the link under its own name when that is free in the target and renames it
    // afterwards (a clash of the new name then fails with the link moved); only when its own name
    // is taken there does it move it under the new name, or refuse. A taken altname refuses.
    const taken = (n: string) => this.#nameTaken(target.path, n);
    const movedAs = !taken(link.name)
      ? link.name
      : name !== undefined && !taken(name)
      ? name
      : null;
    if (movedAs === null || link.altNames.some(taken)) {
      throw new KernelError("EEXIST", `move ${link.name}`);
    }
    this.#ns(ns.path).delete(index);
    // The kernel keeps the ifindex when it is free in the target, flushes addresses and routes,
    // and takes the link down.
    const newIndex = dest.has(index) ? this.#nextIndex++ : index;
    const moved = { ...link, name: movedAs, index: newIndex, up: false, addresses: [], routes: [] };
    dest.set(newIndex, moved);
    if (name === undefined || moved.name === name) return;
    if (taken(name)) throw new KernelError("EEXIST", `rename ${moved.name} to ${name}`);
    moved.name = name;
  }

  addAddress(ns: Netns, index: number, cidr: string): void {
    const link = this.#link(ns, index);
    this.faults.step(`add address ${cidr} to ${link.name} in ${ns.path}`);
    if (link.addresses.includes(cidr)) throw new KernelError("EEXIST", `add address ${cidr}`);
    link.addresses.push(cidr);
  }

  listAddresses(ns: Netns, index: number): string[] {
    return [...this.#link(ns, index).addresses];
  }

  addRoute(ns: Netns, index: number, route: RouteSpec): void {
    const link = this.#link(ns, index);
    this.faults.step(`add route ${route.dst} to ${link.name} in ${ns.path}`);
    if (route.gw !== undefined && !link.up) {
      throw new KernelError("ENETUNREACH", `add route ${route.dst}`);
    }
    link.routes.push({ ...route });
  }

  listRoutes(ns: Netns, index: number): RouteSpec[] {
    return this.#link(ns, index).routes.map((r) => ({ ...r }));
  }

  vfSettings(ns: Netns, pfIndex: number, vf: number): VfSettings | null {
    const link = this.#link(ns, pfIndex);
    const pf = this.#pfOf(link);
    if (pf?.dev.pfOptions?.vfListTooLarge) {
      throw new NetlinkError(NleCode.Failure, "Unspecific failure (EMSGSIZE)", Errno.EMSGSIZE);
    }
    const vfDev = this.#vfDev(pf, vf);
    if (pf === null || vfDev === null) return null;
    const reports = pf.dev.pfOptions!.reportsGuids;
    return {
      vf,
      nodeGuid: reports ? vfDev.guids.nodeGuid : null,
      portGuid: reports ? vfDev.guids.portGuid : null,
      linkState: vfDev.vf!.linkState,
    };
  }

  setVf(ns: Netns, pfIndex: number, vf: number, change: VfChange): void {
    const link = this.#link(ns, pfIndex);
    const parts = [
      change.linkState === undefined ? [] : [`link_state ${change.linkState}`],
      change.nodeGuid === undefined ? [] : [`node_guid ${change.nodeGuid}`],
      change.portGuid === undefined ? [] : [`port_guid ${change.portGuid}`],
    ].flat();
    this.faults.step(`set vf ${vf} ${parts.join(" ")} via ${link.name} in ${ns.path}`);
    const pf = this.#pfOf(link);
    const vfDev = this.#vfDev(pf, vf);
    if (pf === null || vfDev === null) {
      throw new KernelError("EINVAL", `set vf ${vf} via ${link.name}`);
    }
    const guids = {
      nodeGuid: normalizeGuid(change.nodeGuid ?? vfDev.guids.nodeGuid, "node_guid"),
      portGuid: normalizeGuid(change.portGuid ?? vfDev.guids.portGuid, "port_guid"),
    };
    const unsupported = () => new NetlinkError(NleCode.OpNotSupp, "Operation not supported");
    // In the order of the kernel's do_setvfinfo(), which stops at the first error and keeps
    // what it already applied: a refused GUID leaves a new link state in place.
    if (change.linkState !== undefined) {
      if (!pf.dev.pfOptions!.vfLinkState) throw unsupported();
      vfDev.vf!.linkState = change.linkState;
    }
    if (change.nodeGuid !== undefined || change.portGuid !== undefined) {
      if (!pf.dev.pfOptions!.vfGuids) throw unsupported();
      const refusal = change.portGuid === undefined ? null : this.#portGuidRefusal;
      if (refusal !== null) {
        this.#portGuidRefusal = null;
        vfDev.guids = { ...vfDev.guids, nodeGuid: guids.nodeGuid };
        throw new KernelError(
          refusal,
          `set vf ${vf} port_guid ${change.portGuid} via ${link.name}`,
        );
      }
      vfDev.guids = guids;
    }
  }

  // ---- PciDriver ----

  unbind(pci: string, driver: string): void {
    this.faults.step(`unbind ${pci} from ${driver}`);
    // The kernel answers ENODEV when the device is not bound to the driver written to.
    if (this.#pci.get(pci)?.driver !== driver) {
      throw new KernelError("ENODEV", `unbind ${pci} from ${driver}`);
    }
    this.#detach(pci);
  }

  bind(pci: string, driver: string): void {
    this.faults.step(`bind ${pci} to ${driver}`);
    // The kernel answers ENODEV for no such device, EBUSY for one bound already.
    const dev = this.#pci.get(pci);
    if (dev === undefined) throw new KernelError("ENODEV", `bind ${pci} to ${driver}`);
    if (dev.driver !== null) throw new KernelError("EBUSY", `bind ${pci} to ${driver}`);
    this.#probe(pci, driver, null);
  }

  // ---- Rdma ----

  netnsMode(): RdmaNetnsMode {
    if (this.#rdmaMode === "unsupported") {
      throw this.#noRdmaNetlink();
    }
    return this.#rdmaMode;
  }

  devices(ns: Netns): string[] {
    this.#open(ns);
    if (this.#rdmaMode === "unsupported") {
      throw this.#noRdmaNetlink();
    }
    // In shared mode every namespace sees every device.
    return this.#rdma.filter((d) => this.#rdmaMode === "shared" || d.netns === ns.path)
      .map((d) => d.name).sort();
  }

  moveDevice(from: Netns, name: string, to: Netns): void {
    this.#open(from);
    this.#open(to);
    this.faults.step(`move rdma ${name} from ${from.path} to ${to.path}`);
    if (this.#rdmaMode === "unsupported") throw this.#noRdmaNetlink();
    const dev = this.#rdma.find((d) =>
      d.name === name && (this.#rdmaMode === "shared" || d.netns === from.path)
    );
    if (dev === undefined) {
      throw new NetlinkError(NleCode.ObjNotFound, "no such device in the source netns");
    }
    // ib_device_set_netns_put() refuses in shared mode.
    if (this.#rdmaMode === "shared") {
      throw new NetlinkError(NleCode.OpNotSupp, "Operation not supported");
    }
    if (dev.netns === to.path) return;
    this.#moveRdma(dev, to.path);
  }

  // ---- Sysfs ----

  deviceExists(pci: string): boolean {
    return this.#pci.has(pci);
  }

  physfn(pci: string): string | null {
    return this.#pci.get(pci)?.physfn ?? null;
  }

  vfIndex(pfPci: string, vfPci: string): number | null {
    const i = this.#pci.get(pfPci)?.virtfns?.indexOf(vfPci) ?? -1;
    return i < 0 ? null : i;
  }

  netdevs(pci: string): string[] {
    // sysfs shows the netdevs of the namespace that mounted it: the host's.
    return [...this.#ns(HOST_NETNS).values()].filter((l) => l.pci === pci).map((l) => l.name)
      .sort();
  }

  driver(pci: string): string | null {
    return this.#pci.get(pci)?.driver ?? null;
  }

  rdmaDevices(pci: string): string[] {
    // The infiniband class is namespace-tagged: the host's sysfs shows the host's devices only.
    return this.#rdma.filter((d) => d.pci === pci && d.netns === HOST_NETNS).map((d) => d.name)
      .sort();
  }

  rdmaNodeGuid(pci: string, rdmaDevice: string): string | null {
    const dev = this.#rdma.find((d) =>
      d.pci === pci && d.name === rdmaDevice && d.netns === HOST_NETNS
    );
    return dev === undefined ? null : sysfsGuid(dev.nodeGuid);
  }

  // ---- internals ----

  #newDevice(bootName: string | null, guids: Guids, addressPrefix: string): FakePci {
    return { driver: null, guids, probed: null, addressPrefix, bootName, epoch: 0 };
  }

  /**
   * A driver's probe. mlx5 reads the GUIDs from the VF table and registers an RDMA device
   * (a new name) and an IPoIB netdev in the host; other drivers (vfio-pci) make neither.
   *
   * @param boot when building the node: the netdev as it is at boot, made at once
   */
  #probe(
    pci: string,
    driver: string,
    boot: Pick<FakeLink, "name" | "up" | "altNames" | "mtu"> | null,
  ): void {
    const dev = this.#pciDev(pci);
    dev.driver = driver;
    if (driver !== MLX5_CORE) return;
    dev.probed = { ...dev.guids };
    this.#rdma.push({
      name: `mlx5_${this.#nextRdma++}`,
      pci,
      netns: HOST_NETNS,
      nodeGuid: dev.probed.nodeGuid,
    });
    if (boot === null) this.#spawnNetdev(pci);
    else this.#addNetdev(pci, dev, boot);
  }

  /** Destroys a device's netdev (wherever it is) and RDMA device, and forgets its driver. */
  #detach(pci: string): void {
    const dev = this.#pciDev(pci);
    this.#destroyNetdevs(pci);
    for (let i = this.#rdma.length - 1; i >= 0; i--) {
      if (this.#rdma[i]!.pci === pci) this.#rdma.splice(i, 1);
    }
    dev.driver = null;
    dev.probed = null;
  }

  #destroyNetdevs(pci: string): void {
    this.#pciDev(pci).epoch++;
    for (const links of this.#namespaces.values()) {
      for (const link of links.values()) if (link.pci === pci) links.delete(link.index);
    }
  }

  /**
   * Makes the IPoIB netdev of a probed device after the netdev delay: named `ib<N>` (the lowest
   * free in the host, as the kernel's `ib%d` template), down, with the probed port GUID; then
   * lets udev rename it after the udev delay.
   */
  #spawnNetdev(pci: string): void {
    const dev = this.#pciDev(pci);
    const epoch = dev.epoch;
    this.#after(this.#netdevDelayMs, () => {
      if (dev.epoch !== epoch || dev.probed === null) return;
      let n = 0;
      while (this.#nameTaken(HOST_NETNS, `ib${n}`)) n++;
      const index = this.#addNetdev(pci, dev, {
        name: `ib${n}`,
        up: false,
        altNames: [],
        mtu: IPOIB_MTU,
      });
      this.#after(this.#udevDelayMs, () => {
        const link = this.#ns(HOST_NETNS).get(index);
        const target = link === undefined ? null : this.#udev?.(pci, link.name) ?? null;
        // udev's rename fails like any other when the link is up or the name is taken.
        if (link === undefined || target === null || link.up) return;
        if (target !== link.name && !this.#nameTaken(HOST_NETNS, target)) link.name = target;
      });
    });
  }

  #addNetdev(
    pci: string,
    dev: FakePci,
    link: Pick<FakeLink, "name" | "up" | "altNames" | "mtu">,
  ): number {
    return this.addLink(HOST_NETNS, { ...link, address: this.#address(dev), pci });
  }

  /** The IPoIB address: QPN and GID prefix, then the port GUID the driver probed. */
  #address(dev: FakePci): string {
    return `${dev.addressPrefix}:${dev.probed!.portGuid}`;
  }

  /**
   * Moves an RDMA device. ib_core takes the device away from its clients and gives it back
   * around the move; IPoIB is one, so the device's netdev is destroyed and made again in the
   * host.
   */
  #moveRdma(dev: FakeRdmaDevice, to: string): void {
    dev.netns = to;
    if (!this.#rdmaMoveRecreatesNetdev) return;
    this.#destroyNetdevs(dev.pci);
    this.#spawnNetdev(dev.pci);
  }

  #after(ms: number, run: () => void): void {
    if (ms === 0) run();
    else if (ms !== Infinity) this.#timers.push({ at: this.#now + ms, run });
  }

  #noRdmaNetlink(): NetlinkError {
    // socket(AF_NETLINK, SOCK_RAW, NETLINK_RDMA) without ib_core; worded as LibnlRdma does.
    return new NetlinkError(
      NleCode.ProtoMismatch,
      "the kernel has no RDMA netlink (NETLINK_RDMA is not a supported protocol); " +
        "load the ib_core module (modprobe ib_core)",
    );
  }

  /** The PF behind a link, when it has a VF table. */
  #pfOf(link: FakeLink): { pci: string; dev: FakePci } | null {
    const dev = link.pci === undefined ? undefined : this.#pci.get(link.pci);
    return dev?.pfOptions === undefined ? null : { pci: link.pci!, dev };
  }

  #vfDev(pf: { dev: FakePci } | null, vf: number): FakePci | null {
    const pci = pf?.dev.virtfns?.[vf];
    return pci === undefined ? null : this.#pciDev(pci);
  }

  #linksOf(pci: string): FakeLink[] {
    return [...this.#namespaces.values()].flatMap((links) =>
      [...links.values()].filter((l) => l.pci === pci)
    );
  }

  #ns(path: string): Map<number, FakeLink> {
    const links = this.#namespaces.get(path);
    if (links === undefined) throw new KernelError("EBADF", `netns ${path} is gone`);
    return links;
  }

  #pciDev(pci: string): FakePci {
    const dev = this.#pci.get(pci);
    if (dev === undefined) throw new Error(`no PCI device ${pci}`);
    return dev;
  }

  #open(ns: Netns): Map<number, FakeLink> {
    if (ns.fd < 0) throw new KernelError("EBADF", `netns ${ns.path} handle is closed`);
    return this.#ns(ns.path);
  }

  #link(ns: Netns, index: number): FakeLink {
    const link = this.#open(ns).get(index);
    if (link === undefined) throw new KernelError("ENODEV", `link ${index} in ${ns.path}`);
    return link;
  }

  #nameTaken(ns: string, name: string): boolean {
    return [...this.#ns(ns).values()].some((l) => l.name === name || l.altNames.includes(name));
  }

  #info(link: FakeLink): LinkInfo {
    return {
      index: link.index,
      name: link.name,
      mtu: link.mtu,
      address: link.address,
      up: link.up,
      altNames: [...link.altNames],
    };
  }
}
