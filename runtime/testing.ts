/**
 * `@oxenmq-ts/runtime/testing`: the in-memory transport. Register handlers on it and call them through clients made
 * on it, with the semantics of the ZeroMQ transport (access checks with a caller identity you choose, error words,
 * status-first errors, validation, deferred replies, scheduling) and no sockets: for unit tests of handlers and of
 * code that calls them.
 *
 * @example
 * import { InMemoryTransport } from "@oxenmq-ts/runtime/testing";
 * const t = new InMemoryTransport();
 * registerShop(t, handlers);
 * await t.start();
 * const shop = new ShopClient(t, t.connect({ auth: "basic" }));
 *
 * @module @oxenmq-ts/runtime/testing
 */
export { InMemoryTransport } from "./rpc/memory.js";
export type { Caller, InMemoryOptions } from "./rpc/memory.js";
