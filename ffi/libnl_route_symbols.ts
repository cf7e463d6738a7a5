/**
 * The libnl-route-3 (`libnl-route-3.so.200`) symbols the plugin calls: links, SR-IOV VFs,
 * addresses, routes and next hops, grouped by the header that declares them, in header order.
 * Data only: `ffi/libnl.ts` loads it.
 *
 * Every symbol here exists since libnl 3.2 (the `rtnl_link_vf_*` ones since 3.2.29), older than
 * our minimum (3.4), so none is optional. No symbol is `nonblocking` (see `ffi/libnl_symbols.ts`).
 *
 * @module
 */

/** The libnl-route-3 symbol table, for `Deno.dlopen("libnl-route-3.so.200", ...)`. */
export const LIBNL_ROUTE_SYMBOLS = {
  // <netlink/route/link.h>
  rtnl_link_alloc: {
    parameters: [],
    result: "pointer", // struct rtnl_link *
  },
  rtnl_link_put: {
    parameters: [
      "pointer", // struct rtnl_link *link
    ],
    result: "void",
  },
  rtnl_link_change: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "pointer", // struct rtnl_link *orig
      "pointer", // struct rtnl_link *changes
      "i32", // int flags
    ],
    result: "i32",
  },
  rtnl_link_get_kernel: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "i32", // int ifindex
      "buffer", // const char *name
      "buffer", // struct rtnl_link **result
    ],
    result: "i32",
  },
  rtnl_link_set_ifindex: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "i32", // int ifindex
    ],
    result: "void",
  },
  rtnl_link_set_name: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "buffer", // const char *name
    ],
    result: "void",
  },
  rtnl_link_set_mtu: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "u32", // unsigned int mtu
    ],
    result: "void",
  },
  rtnl_link_set_flags: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "u32", // unsigned int flags
    ],
    result: "void",
  },
  rtnl_link_unset_flags: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "u32", // unsigned int flags
    ],
    result: "void",
  },
  rtnl_link_set_ns_fd: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "i32", // int fd
    ],
    result: "void",
  },
  // <netlink/route/link/sriov.h>
  rtnl_link_vf_add: {
    parameters: [
      "pointer", // struct rtnl_link *link
      "pointer", // struct rtnl_link_vf *vf_data (the link takes its own reference)
    ],
    result: "i32",
  },
  rtnl_link_vf_alloc: {
    parameters: [],
    result: "pointer", // struct rtnl_link_vf *
  },
  rtnl_link_vf_put: {
    parameters: [
      "pointer", // struct rtnl_link_vf *vf_data
    ],
    result: "void",
  },
  rtnl_link_vf_set_ib_node_guid: {
    parameters: [
      "pointer", // struct rtnl_link_vf *vf_data
      "u64", // uint64_t guid
    ],
    result: "void",
  },
  rtnl_link_vf_set_ib_port_guid: {
    parameters: [
      "pointer", // struct rtnl_link_vf *vf_data
      "u64", // uint64_t guid
    ],
    result: "void",
  },
  rtnl_link_vf_set_index: {
    parameters: [
      "pointer", // struct rtnl_link_vf *vf_data
      "u32", // uint32_t vf_index
    ],
    result: "void",
  },
  rtnl_link_vf_set_linkstate: {
    parameters: [
      "pointer", // struct rtnl_link_vf *vf_data
      "u32", // uint32_t vf_linkstate
    ],
    result: "void",
  },
  // <netlink/route/addr.h>
  rtnl_addr_alloc: {
    parameters: [],
    result: "pointer", // struct rtnl_addr *
  },
  rtnl_addr_put: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
    ],
    result: "void",
  },
  rtnl_addr_alloc_cache: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "buffer", // struct nl_cache **result
    ],
    result: "i32",
  },
  rtnl_addr_add: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "pointer", // struct rtnl_addr *addr
      "i32", // int flags
    ],
    result: "i32",
  },
  rtnl_addr_set_ifindex: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
      "i32", // int ifindex
    ],
    result: "void",
  },
  rtnl_addr_get_ifindex: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
    ],
    result: "i32",
  },
  rtnl_addr_get_prefixlen: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
    ],
    result: "i32",
  },
  rtnl_addr_get_scope: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
    ],
    result: "i32",
  },
  rtnl_addr_set_local: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
      "pointer", // struct nl_addr *local
    ],
    result: "i32",
  },
  rtnl_addr_get_local: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
    ],
    result: "pointer", // struct nl_addr *
  },
  rtnl_addr_set_broadcast: {
    parameters: [
      "pointer", // struct rtnl_addr *addr
      "pointer", // struct nl_addr *bcast
    ],
    result: "i32",
  },
  // <netlink/route/route.h>
  rtnl_route_alloc: {
    parameters: [],
    result: "pointer", // struct rtnl_route *
  },
  rtnl_route_put: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "void",
  },
  rtnl_route_alloc_cache: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "i32", // int family
      "i32", // int flags
      "buffer", // struct nl_cache **result
    ],
    result: "i32",
  },
  rtnl_route_add: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "pointer", // struct rtnl_route *route
      "i32", // int flags
    ],
    result: "i32",
  },
  rtnl_route_set_table: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "u32", // uint32_t table
    ],
    result: "void",
  },
  rtnl_route_get_table: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "u32", // uint32_t
  },
  rtnl_route_set_scope: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "u8", // uint8_t scope
    ],
    result: "void",
  },
  rtnl_route_get_scope: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "u8", // uint8_t
  },
  rtnl_route_set_protocol: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "u8", // uint8_t protocol
    ],
    result: "void",
  },
  rtnl_route_set_priority: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "u32", // uint32_t prio
    ],
    result: "void",
  },
  rtnl_route_get_priority: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "u32", // uint32_t
  },
  rtnl_route_get_type: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "u8", // uint8_t
  },
  rtnl_route_set_metric: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "i32", // int metric
      "u32", // unsigned int value
    ],
    result: "i32",
  },
  rtnl_route_get_metric: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "i32", // int metric
      "buffer", // uint32_t *value
    ],
    result: "i32",
  },
  rtnl_route_set_dst: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "pointer", // struct nl_addr *addr
    ],
    result: "i32",
  },
  rtnl_route_get_dst: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "pointer", // struct nl_addr *
  },
  rtnl_route_add_nexthop: {
    parameters: [
      "pointer", // struct rtnl_route *route
      "pointer", // struct rtnl_nexthop *nh
    ],
    result: "void",
  },
  rtnl_route_get_nnexthops: {
    parameters: [
      "pointer", // struct rtnl_route *route
    ],
    result: "i32",
  },
  rtnl_route_nexthop_n: {
    parameters: [
      "pointer", // struct rtnl_route *r
      "i32", // int n
    ],
    result: "pointer", // struct rtnl_nexthop *
  },
  // <netlink/route/nexthop.h>
  rtnl_route_nh_alloc: {
    parameters: [],
    result: "pointer", // struct rtnl_nexthop *
  },
  rtnl_route_nh_free: {
    parameters: [
      "pointer", // struct rtnl_nexthop *nh
    ],
    result: "void",
  },
  rtnl_route_nh_set_ifindex: {
    parameters: [
      "pointer", // struct rtnl_nexthop *nh
      "i32", // int ifindex
    ],
    result: "void",
  },
  rtnl_route_nh_get_ifindex: {
    parameters: [
      "pointer", // struct rtnl_nexthop *nh
    ],
    result: "i32",
  },
  rtnl_route_nh_set_gateway: {
    parameters: [
      "pointer", // struct rtnl_nexthop *nh
      "pointer", // struct nl_addr *addr
    ],
    result: "void",
  },
  rtnl_route_nh_get_gateway: {
    parameters: [
      "pointer", // struct rtnl_nexthop *nh
    ],
    result: "pointer", // struct nl_addr *
  },
} as const satisfies Deno.ForeignLibraryInterface;
