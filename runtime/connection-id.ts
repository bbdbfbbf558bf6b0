import { OmqError } from "./errors.js";
import { toHex } from "./encoding.js";

const EMPTY = new Uint8Array(0);

/**
 * Who a message came from, and where a send goes (reference §1.6). Two kinds:
 * - service node: `id === ConnectionID.SN_ID` with a 32-byte pubkey; equal when the pubkeys are equal;
 * - other: `id > 0` (a listener or an outgoing connection) with an optional proven pubkey and, for peers that
 *   connected to one of our listeners, their route. Equal when id and route are equal (pubkeys ignored).
 */
export class ConnectionID {
  static readonly SN_ID = -1;

  /** @internal use `ConnectionID.sn(pubkey)`; other ids come from the runtime. */
  constructor(
    readonly id: number,
    readonly pubkey: Uint8Array = EMPTY,
    readonly route: Uint8Array = EMPTY,
  ) {}

  /** The id of a service node, by its x25519 public key. */
  static sn(pubkey: Uint8Array): ConnectionID {
    if (pubkey.length !== 32) throw new OmqError("INVALID_KEY", "Invalid pubkey: expected 32 bytes");
    return new ConnectionID(ConnectionID.SN_ID, pubkey);
  }

  get isSN(): boolean {
    return this.id === ConnectionID.SN_ID;
  }

  private cachedKey: string | undefined;

  /** A stable string usable as a Map key, following the equality rule above (computed once). */
  get key(): string {
    return (this.cachedKey ??= this.isSN
      ? `sn:${toHex(this.pubkey)}`
      : `${this.id}:${Buffer.from(this.route.buffer, this.route.byteOffset, this.route.byteLength).toString("latin1")}`);
  }

  equals(other: ConnectionID): boolean {
    return this.key === other.key;
  }

  /** Copy without the route (the outgoing or listener connection as a whole). */
  unrouted(): ConnectionID {
    return new ConnectionID(this.id, this.pubkey);
  }

  toString(): string {
    if (this.isSN) return `SN ${toHex(this.pubkey)}`;
    if (this.pubkey.length) return `non-SN authenticated remote ${toHex(this.pubkey)}`;
    return `unauthenticated remote [${this.id}]`;
  }
}
