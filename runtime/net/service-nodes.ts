import { Address } from "./address.js";
import type { ConnectionID } from "./connection-id.js";
import { toHex } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import { keyBytes } from "../auth/keys.js";
import { nonNegativeMs } from "../base/validate.js";
import type { Listener } from "./listener.js";
import type { Log } from "../base/log.js";
import type { Outgoing } from "./outgoing.js";
import type { Conn } from "../auth/routes.js";
import type { Frame } from "../wire/frames.js";

/** Idle expiry of a connection opened by `send`/`request` to a service node (docs/protocol.md#service-nodes). */
export const DEFAULT_SEND_KEEP_ALIVE = 30_000;
/** Idle expiry of a connection opened by `connectSN` (5 minutes as documented; the C++ unit bug is not copied). */
export const DEFAULT_CONNECT_SN_KEEP_ALIVE = 5 * 60_000;

/** How a message to a connection finds its way (the service-node fields apply to sends by public key only). */
export interface RouteOptions {
  /** Service nodes: only send over an existing connection, never open one. */
  readonly optional?: boolean;
  /** Service nodes: only send over an existing incoming connection. */
  readonly incoming?: boolean;
  /** Service nodes: skip incoming connections. */
  readonly outgoing?: boolean;
  /** Service nodes: address to use instead of `snLookup` if a connection must be opened. */
  readonly hint?: string;
  /** Service nodes: keep the outgoing connection at least this long (ms) after use. */
  readonly keepAlive?: number;
}

export interface ConnectSNOptions {
  /** Keep the connection at least this long (ms) after its last use. Default 5 minutes. */
  readonly keepAlive?: number;
  /** Address to use instead of `snLookup` (`tcp://host:port`, or any address form). */
  readonly hint?: string;
}

export interface ServiceNodeHost {
  /** Outgoing connections to service nodes, by pubkey hex (owned by the instance's connections). */
  readonly outgoing: ReadonlyMap<string, Outgoing>;
  readonly listeners: readonly Listener[];
  readonly log: Log;
  readonly closeLinger: number;
  lookup(pubkey: Uint8Array): string | undefined;
  /** Opens a CURVE DEALER to a service node. */
  open(pubkey: Uint8Array, zmqAddress: string, idleExpiry: number): Outgoing;
  close(o: Outgoing, linger: number): void;
}

/**
 * Service-node mode (docs/protocol.md#service-nodes): the active service-node set, connections to nodes by public key
 * (reusing an incoming or outgoing connection to that key, or opening one through the lookup), and idle expiry.
 */
export class ServiceNodes {
  private readonly active = new Set<string>();
  private readonly outgoing: ReadonlyMap<string, Outgoing>;

  constructor(private readonly host: ServiceNodeHost) {
    this.outgoing = host.outgoing;
  }

  isActive(pubkeyHex: string): boolean {
    return this.active.has(pubkeyHex);
  }

  /** Replaces the set. Keys that are not 32 bytes are dropped with a warning. */
  setActive(pubkeys: Iterable<Uint8Array>): void {
    const next = this.valid(pubkeys, "setActiveSNs");
    const removed = [...this.active].filter((k) => !next.has(k));
    const added = [...next].filter((k) => !this.active.has(k));
    this.apply(added, removed);
  }

  /** Adds and removes keys; a key in both lists stays (the add wins). */
  update(added: Iterable<Uint8Array>, removed: Iterable<Uint8Array>): void {
    const add = this.valid(added, "updateActiveSNs");
    const remove = [...this.valid(removed, "updateActiveSNs")].filter((k) => !add.has(k) && this.active.has(k));
    this.apply(
      [...add].filter((k) => !this.active.has(k)),
      remove,
    );
  }

  private valid(keys: Iterable<Uint8Array>, what: string): Set<string> {
    const out = new Set<string>();
    for (const pk of keys) {
      keyBytes(pk, `${what}: each key`);
      if (pk.length === 32) out.add(toHex(pk));
      else this.host.log.warn(`${what}: dropping a ${pk.length}-byte key`);
    }
    return out;
  }

  /** Removed nodes lose their outgoing connections; their incoming ones stay but are re-evaluated per message. */
  private apply(added: string[], removed: string[]): void {
    for (const k of added) this.active.add(k);
    for (const k of removed) {
      this.active.delete(k);
      const o = this.outgoing.get(k);
      if (o) this.host.close(o, this.host.closeLinger);
    }
    if (added.length || removed.length)
      this.host.log.debug(`active service nodes: +${added.length} -${removed.length}`);
  }

  /**
   * Makes sure a connection to `pubkey` exists: an existing incoming or outgoing one is reused (an outgoing one has
   * its keep-alive extended), otherwise one is opened through `hint` or the lookup. No HI/HELLO: usable at once.
   */
  connect(pubkey: Uint8Array, options: ConnectSNOptions = {}): void {
    const hex = toHex(pubkey);
    const existing = this.outgoing.get(hex);
    nonNegativeMs(options.keepAlive, "keepAlive");
    const keepAlive = options.keepAlive ?? DEFAULT_CONNECT_SN_KEEP_ALIVE;
    if (existing) return this.touch(existing, keepAlive);
    if (this.incoming(hex)) return;
    const r = this.openTo(pubkey, options.hint, keepAlive);
    if (r instanceof OmqError) this.host.log.error(`connectSN: ${r.message}`);
  }

  /**
   * Sends to a service node by key, following the `optional` / `incoming` / `outgoing` options of
   * docs/protocol.md#service-nodes. Returns the connection used (an incoming Conn or an Outgoing), if any.
   */
  deliver(
    to: ConnectionID,
    frames: Frame[],
    options: RouteOptions,
    failed: (err: OmqError) => void,
  ): Conn | Outgoing | undefined {
    const hex = toHex(to.pubkey);
    if (!options.outgoing) {
      const incoming = this.incoming(hex);
      if (incoming) {
        incoming.listener.sendTo(incoming.conn, frames, failed);
        return incoming.conn;
      }
    }
    if (options.incoming) return void failed(new OmqError("SEND_FAILED", `no incoming connection from ${to}`));
    let o = this.outgoing.get(hex);
    if (!o) {
      if (options.optional) return void failed(new OmqError("SEND_FAILED", `no connection to ${to} (optional send)`));
      const opened = this.openTo(to.pubkey, options.hint, DEFAULT_SEND_KEEP_ALIVE);
      if (opened instanceof OmqError) return void failed(opened);
      o = opened;
    }
    this.touch(o, options.keepAlive ?? 0);
    o.send(frames, (err) => err && failed(err));
    return o;
  }

  /** Whether a send to this node would use an incoming connection. */
  hasIncoming(to: ConnectionID): boolean {
    return this.incoming(toHex(to.pubkey)) !== undefined;
  }

  /** Closes outgoing service-node connections unused for longer than their idle expiry. */
  expireIdle(now = Date.now()): void {
    for (const o of [...this.outgoing.values()]) {
      if (now - o.lastActivity > o.idleExpiry) {
        this.host.log.debug(`Closing idle connection to service node ${toHex(o.pubkey)}`);
        this.host.close(o, this.host.closeLinger);
      }
    }
  }

  private touch(o: Outgoing, keepAlive: number): void {
    o.idleExpiry = Math.max(o.idleExpiry, keepAlive);
    o.lastActivity = Date.now();
  }

  /** The most recent open incoming connection authenticated with this key, on any listener. */
  private incoming(hex: string): { listener: Listener; conn: Conn } | undefined {
    let found: { listener: Listener; conn: Conn } | undefined;
    for (const listener of this.host.listeners) {
      for (const conn of listener.connsWithKey(hex) ?? []) {
        if (!conn.dead && (!found || conn.serial > found.conn.serial)) found = { listener, conn };
      }
    }
    return found;
  }

  private openTo(pubkey: Uint8Array, hint: string | undefined, keepAlive: number): Outgoing | OmqError {
    const addr = hint || this.host.lookup(pubkey) || "";
    if (!addr) return new OmqError("SEND_FAILED", `no address known for service node ${toHex(pubkey)}`);
    try {
      return this.host.open(pubkey, new Address(addr, pubkey).zmqAddress, keepAlive);
    } catch (err) {
      return OmqError.fromZmq(err, "CONNECT_FAILED", `connect to service node ${toHex(pubkey)} failed`);
    }
  }
}
