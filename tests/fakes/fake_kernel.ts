import {
  type LinkInfo,
  type Netlink,
  type Netns,
  NetnsError,
  type RouteSpec,
} from "../../lib/netlink/netlink.ts";
import type { Sysfs } from "../../lib/sysfs/sysfs.ts";
import { Faults } from "./faults.ts";

/** The host namespace's path in the in-memory kernel. */
export const HOST_NETNS = "/proc/self/ns/net";

interface FakeLink extends LinkInfo {
  addresses: string[];
  routes: RouteSpec[];
  /** The PCI device behind a physical link; virtual links have none. */
  pci?: string;
}

interface FakePci {
  physfn?: string;
  virtfns?: string[];
  driver: string | null;
  rdma: { name: string; nodeGuid: string }[];
}

/** A description of one VF for {@link FakeKernel.addPf}. */
export interface FakeVfSpec {
  pci: string;
  netdev: string;
  /** IPoIB link address (20 bytes); a default is derived from the index. */
  address?: string;
  up?: boolean;
  altNames?: string[];
}

class KernelError extends Error {
  override name = "KernelError";
  constructor(readonly errno: string, message: string) {
    super(`${message}: ${errno}`);
  }
}

function ipoibAddress(n: number): string {
  const tail = n.toString(16).padStart(4, "0");
  return `00:00:10:87:fe:80:00:00:00:00:00:00:02:00:00:00:00:00:${tail.slice(0, 2)}:${
    tail.slice(2)
  }`;
}

/**
 * An in-memory kernel for the plugin tier: namespaces with links (names, altnames, up flag,
 * addresses, routes) and a PCI tree of PFs and VFs, behind the same `Netlink` and `Sysfs`
 * interfaces the plugin uses. It enforces the kernel rules the plugin must respect (unique
 * names including altnames, rename only while down, addresses flushed on a namespace move,
 * physical links returned to the host when their namespace dies) and fails the N-th mutating
 * operation on request.
 */
export class FakeKernel implements Netlink, Sysfs {
  readonly faults: Faults;
  readonly #namespaces = new Map<string, Map<number, FakeLink>>();
  readonly #pci = new Map<string, FakePci>();
  /** Paths that exist but are not namespaces. */
  readonly #plainFiles = new Set<string>();
  #nextIndex = 1;
  #nextFd = 100;

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
   * Destroys a namespace: its physical links go back to the host (renamed `dev<ifindex>` when
   * their name is taken there), as the kernel does; virtual links die with it.
   */
  deleteNetns(path: string): void {
    const links = this.#ns(path);
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

  /** Adds a PF with netdev `pfName` and its VFs (netdevs in the host, drivers `mlx5_core`). */
  addPf(pfPci: string, pfName: string, vfs: FakeVfSpec[]): void {
    this.#pci.set(pfPci, { driver: "mlx5_core", rdma: [], virtfns: vfs.map((v) => v.pci) });
    this.addLink(HOST_NETNS, {
      name: pfName,
      mtu: 4092,
      address: ipoibAddress(0),
      up: true,
      pci: pfPci,
    });
    vfs.forEach((vf, i) => {
      this.#pci.set(vf.pci, {
        physfn: pfPci,
        driver: "mlx5_core",
        rdma: [{
          name: `mlx5_${i + 2}`,
          nodeGuid: `0200:0000:0000:00${(i + 1).toString(16).padStart(2, "0")}`,
        }],
      });
      this.addLink(HOST_NETNS, {
        name: vf.netdev,
        mtu: 4092,
        address: vf.address ?? ipoibAddress(i + 1),
        up: vf.up ?? false,
        altNames: vf.altNames ?? [],
        pci: vf.pci,
      });
    });
  }

  /** Adds a PCI device that is not a VF (a PF without SR-IOV, say) with optional netdevs. */
  addPlainPci(pci: string, driver: string | null): void {
    this.#pci.set(pci, { driver, rdma: [] });
  }

  /** Binds a PCI device to a driver (or unbinds it with `null`); VF netdevs vanish when unbound. */
  setDriver(pci: string, driver: string | null): void {
    this.#pciDev(pci).driver = driver;
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

  // ---- Netlink ----

  openNetns(path: string): Netns {
    if (!this.#namespaces.has(path)) {
      if (this.#plainFiles.has(path)) {
        throw new NetnsError(
          "not-netns",
          path,
          `Cannot open netns "${path}": not a network namespace`,
        );
      }
      throw new NetnsError(
        "missing",
        path,
        `Cannot open netns "${path}": No such file or directory`,
      );
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

  linkByName(ns: Netns, name: string): LinkInfo | null {
    const link = [...this.#open(ns).values()].find((l) => l.name === name);
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

  deleteAltName(ns: Netns, index: number, altName: string): void {
    const link = this.#link(ns, index);
    this.faults.step(`delete altname ${altName} of ${link.name} in ${ns.path}`);
    if (!link.altNames.includes(altName)) {
      throw new KernelError("ENOENT", `delete altname ${altName}`);
    }
    link.altNames = link.altNames.filter((a) => a !== altName);
  }

  moveLink(ns: Netns, index: number, target: Netns): void {
    const link = this.#link(ns, index);
    this.faults.step(`move ${link.name} from ${ns.path} to ${target.path}`);
    const dest = this.#open(target);
    if (this.#nameTaken(target.path, link.name)) {
      throw new KernelError("EEXIST", `move ${link.name}`);
    }
    this.#ns(ns.path).delete(index);
    // The kernel keeps the ifindex when it is free in the target, flushes addresses and routes,
    // and takes the link down.
    const newIndex = dest.has(index) ? this.#nextIndex++ : index;
    dest.set(newIndex, { ...link, index: newIndex, up: false, addresses: [], routes: [] });
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
    if (this.#pci.get(pci)?.driver === null) return [];
    return [...this.#ns(HOST_NETNS).values()].filter((l) => l.pci === pci).map((l) => l.name)
      .sort();
  }

  driver(pci: string): string | null {
    return this.#pci.get(pci)?.driver ?? null;
  }

  rdmaDevices(pci: string): string[] {
    return (this.#pci.get(pci)?.rdma ?? []).map((r) => r.name);
  }

  rdmaNodeGuid(pci: string, rdmaDevice: string): string | null {
    return this.#pci.get(pci)?.rdma.find((r) => r.name === rdmaDevice)?.nodeGuid ?? null;
  }

  // ---- internals ----

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
