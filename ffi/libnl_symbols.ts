/**
 * The libnl-3 (`libnl-3.so.200`) symbols the plugin calls: sockets, raw messages, attributes,
 * addresses and caches, grouped by the header that declares them, in header order. Data only:
 * `ffi/libnl.ts` loads it.
 *
 * Every symbol here exists since libnl 3.2, older than our minimum (3.4), so none is optional.
 * No symbol is `nonblocking`: a netlink socket and `setns()` are tied to the thread that uses them,
 * and a `nonblocking` symbol would run on another thread.
 *
 * @module
 */

/** The libnl-3 symbol table, for `Deno.dlopen("libnl-3.so.200", LIBNL_SYMBOLS)`. */
export const LIBNL_SYMBOLS = {
  // <netlink/socket.h>
  nl_socket_alloc: {
    parameters: [],
    result: "pointer", // struct nl_sock *
  },
  nl_socket_free: {
    parameters: [
      "pointer", // struct nl_sock *sk
    ],
    result: "void",
  },
  // <netlink/netlink.h>
  nl_connect: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "i32", // int protocol
    ],
    result: "i32",
  },
  nl_send_auto: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "pointer", // struct nl_msg *msg
    ],
    result: "i32",
  },
  nl_recvmsgs: {
    parameters: [
      "pointer", // struct nl_sock *sk
      "pointer", // struct nl_cb *cb
    ],
    result: "i32",
  },
  nl_wait_for_ack: {
    parameters: [
      "pointer", // struct nl_sock *sk
    ],
    result: "i32",
  },
  // <netlink/handlers.h>
  nl_cb_alloc: {
    parameters: [
      "i32", // enum nl_cb_kind kind
    ],
    result: "pointer", // struct nl_cb *
  },
  nl_cb_put: {
    parameters: [
      "pointer", // struct nl_cb *cb
    ],
    result: "void",
  },
  nl_cb_set: {
    parameters: [
      "pointer", // struct nl_cb *cb
      "i32", // enum nl_cb_type type
      "i32", // enum nl_cb_kind kind
      "function", // nl_recvmsg_msg_cb_t func
      "pointer", // void *arg
    ],
    result: "i32",
  },
  nl_cb_err: {
    parameters: [
      "pointer", // struct nl_cb *cb
      "i32", // enum nl_cb_kind kind
      "function", // nl_recvmsg_err_cb_t func
      "pointer", // void *arg
    ],
    result: "i32",
  },
  // <netlink/msg.h>
  nlmsg_alloc_simple: {
    parameters: [
      "i32", // int nlmsgtype
      "i32", // int flags
    ],
    result: "pointer", // struct nl_msg *
  },
  nlmsg_append: {
    parameters: [
      "pointer", // struct nl_msg *n
      "buffer", // void *data
      "usize", // size_t len
      "i32", // int pad
    ],
    result: "i32",
  },
  nlmsg_hdr: {
    parameters: [
      "pointer", // struct nl_msg *n
    ],
    result: "pointer", // struct nlmsghdr *
  },
  nlmsg_free: {
    parameters: [
      "pointer", // struct nl_msg *msg
    ],
    result: "void",
  },
  // <netlink/attr.h>
  nla_put_u32: {
    parameters: [
      "pointer", // struct nl_msg *msg
      "i32", // int attrtype
      "u32", // uint32_t value
    ],
    result: "i32",
  },
  nla_put_string: {
    parameters: [
      "pointer", // struct nl_msg *msg
      "i32", // int attrtype
      "buffer", // const char *str
    ],
    result: "i32",
  },
  nla_nest_start: {
    parameters: [
      "pointer", // struct nl_msg *msg
      "i32", // int attrtype
    ],
    result: "pointer", // struct nlattr *
  },
  nla_nest_end: {
    parameters: [
      "pointer", // struct nl_msg *msg
      "pointer", // struct nlattr *start
    ],
    result: "i32",
  },
  // <netlink/addr.h>
  nl_addr_parse: {
    parameters: [
      "buffer", // const char *addrstr
      "i32", // int hint
      "buffer", // struct nl_addr **result
    ],
    result: "i32",
  },
  nl_addr_put: {
    parameters: [
      "pointer", // struct nl_addr *addr
    ],
    result: "void",
  },
  nl_addr_get_family: {
    parameters: [
      "pointer", // const struct nl_addr *addr
    ],
    result: "i32",
  },
  nl_addr_get_binary_addr: {
    parameters: [
      "pointer", // const struct nl_addr *addr
    ],
    result: "pointer", // void *
  },
  nl_addr_get_len: {
    parameters: [
      "pointer", // const struct nl_addr *addr
    ],
    result: "u32", // unsigned int
  },
  nl_addr_get_prefixlen: {
    parameters: [
      "pointer", // const struct nl_addr *addr
    ],
    result: "u32", // unsigned int
  },
  // <netlink/cache.h>
  nl_cache_get_first: {
    parameters: [
      "pointer", // struct nl_cache *cache
    ],
    result: "pointer", // struct nl_object *
  },
  nl_cache_get_next: {
    parameters: [
      "pointer", // struct nl_object *obj
    ],
    result: "pointer", // struct nl_object *
  },
  nl_cache_free: {
    parameters: [
      "pointer", // struct nl_cache *cache
    ],
    result: "void",
  },
  // <netlink/errno.h>
  nl_geterror: {
    parameters: [
      "i32", // int error
    ],
    result: "pointer", // const char *
  },
} as const satisfies Deno.ForeignLibraryInterface;
