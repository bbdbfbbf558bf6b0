import { OmqError } from "../base/errors.js";
import { toHex } from "../base/encoding.js";
import { keyBytes } from "../auth/keys.js";

const EMPTY = new Uint8Array(0);

/**
 * Who a message came from, and where a send goes (docs/identity.md). Two kinds:
 * - service node: `id === ConnectionID.SN_ID` with a 32-byte pubkey; equal when the pubkeys are equal;
 * - other: `id > 0` (a listener or an outgoing connection) with an optional proven pubkey and, for peers that
 *   connected to one of our listeners, their route. Equal when id and route are equal (pubkeys ignored), as in
 *   C++ OxenMQ. A send to an incoming peer's id reaches only that connection, or a later connection on the same
 *   route authenticated with the same key: never a connection of another key that took the route over.
 */
export class ConnectionID {
  static readonly SN_ID = -1;

  /** @internal use `ConnectionID.sn(pubkey)`; other ids come from the runtime. */
  constructor(
    readonly id: number,
    readonly pubkey: Uint8Array = EMPTY,
    readonly route: Uint8Array = EMPTY,
    /** @internal the incoming connection this id was made for (0 for others). */
    readonly serial = 0,
  ) {}

  /** The id of a service node, by its x25519 public key. */
  static sn(pubkey: Uint8Array): ConnectionID {
    keyBytes(pubkey, "ConnectionID.sn(pubkey)");
    if (pubkey.length !== 32) throw new OmqError("INVALID_KEY", "Invalid pubkey: expected 32 bytes");
    return new ConnectionID(ConnectionID.SN_ID, pubkey);
  }

  get isSN(): boolean {
    return this.id === ConnectionID.SN_ID;
  }

  private cachedKey: string | undefined;
  private cachedRouteKey: string | undefined;

  /** @internal the route as a Map key. */
  get routeKey(): string {
    return (this.cachedRouteKey ??= Buffer.from(
      this.route.buffer,
      this.route.byteOffset,
      this.route.byteLength,
    ).toString("latin1"));
  }

  /** A stable string usable as a Map key, following the equality rule above (computed once). */
  get key(): string {
    return (this.cachedKey ??= this.isSN ? `sn:${toHex(this.pubkey)}` : `${this.id}:${this.routeKey}`);
  }

  equals(other: ConnectionID): boolean {
    return this.key === other.key;
  }

  toString(): string {
    if (this.isSN) return `SN ${toHex(this.pubkey)}`;
    if (this.pubkey.length) return `non-SN authenticated remote ${toHex(this.pubkey)}`;
    return `unauthenticated remote [${this.id}]`;
  }
}
