import type { Ipam, IpamRequest } from "../../lib/ipam/ipam.ts";
import { IpamError } from "../../lib/ipam/ipam_error.ts";
import { Faults } from "./faults.ts";

/**
 * An IPAM plugin in memory: hands out 10.56.217.N/24 per (container, ifname), frees it on DEL,
 * and shares the fault counter with the fake kernel (ADD counts as one mutating step).
 */
export class FakeIpam implements Ipam {
  /** Leases by `containerId/ifname`. */
  readonly leases = new Map<string, string>();
  /** Every call, in order. */
  readonly calls: IpamRequest[] = [];
  /** When set, ADD fails with this CNI error. */
  failAdd: { code: number; msg: string } | null = null;
  /** When set, GC fails with this CNI error, as a plugin that predates CNI 1.1 does. */
  failGc: { code: number; msg: string } | null = null;
  readonly #faults: Faults;
  #next = 10;

  /** @param faults the shared fault counter */
  constructor(faults = new Faults()) {
    this.#faults = faults;
  }

  exec(req: IpamRequest): Promise<unknown> {
    this.calls.push(req);
    const key = `${req.env.CNI_CONTAINERID}/${req.env.CNI_IFNAME}`;
    switch (req.command) {
      case "ADD": {
        this.#faults.step(`ipam ADD ${key}`);
        if (this.failAdd !== null) {
          return Promise.reject(
            new IpamError("reported", this.failAdd.msg, {
              pluginType: req.type,
              code: this.failAdd.code,
            }),
          );
        }
        const address = this.leases.get(key) ?? `10.56.217.${this.#next++}/24`;
        this.leases.set(key, address);
        return Promise.resolve({
          cniVersion: "1.0.0",
          ips: [{ address, gateway: "10.56.217.1" }],
          routes: [{ dst: "0.0.0.0/0" }],
          dns: { nameservers: ["10.56.217.1"] },
        });
      }
      case "DEL":
        this.leases.delete(key);
        return Promise.resolve(null);
      case "GC":
        if (this.failGc === null) return Promise.resolve(null);
        return Promise.reject(
          new IpamError("reported", this.failGc.msg, {
            pluginType: req.type,
            code: this.failGc.code,
            context: `IPAM plugin "${req.type}" GC failed`,
          }),
        );
      default:
        return Promise.resolve(null);
    }
  }
}
