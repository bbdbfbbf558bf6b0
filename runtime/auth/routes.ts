import type { Coalescer } from "../wire/batch.js";
import { authRank, type AuthLevel } from "./access.js";

/**
 * Who is behind one incoming connection, as far as the listener can prove it (docs/identity.md): the CURVE key the
 * connection authenticated with (empty on plain listeners or when unknown), the level `allow()` gave it, and the
 * address libzmq reported for it at the handshake.
 */
export interface Identity {
  readonly pubkey: Uint8Array;
  readonly pubkeyHex: string;
  readonly level: AuthLevel;
  readonly remote: string;
}

const EMPTY = new Uint8Array(0);

/** The identity of a connection the listener cannot attribute to any handshake: no key, the lowest admitted level. */
export const UNATTRIBUTED: Identity = Object.freeze({
  pubkey: EMPTY,
  pubkeyHex: "",
  level: "none",
  remote: "(unknown)",
});

/**
 * Whether a route has the form of libzmq's generated routing ids (a zero byte and a 4-byte counter). libzmq gives one
 * to a connection that sent no routing id, **and** to a connection whose routing id a newer connection took over
 * (ROUTER_HANDOVER): that older connection is renamed and its queued messages, its disconnect notification included,
 * then arrive on a route the table has never seen. So an empty frame on a new route of this form is not proof of a
 * new connection (docs/identity.md#handover-renames).
 */
export function isTemporaryRoute(route: Buffer): boolean {
  return route.length === 5 && route[0] === 0;
}

/**
 * The greatest identity that is at most both: the common key (or none), the lower level, the common address. A
 * connection that may be either of two handshakes gets this, so an ambiguity never yields more than either had.
 */
export function meet(a: Identity, b: Identity): Identity {
  if (a === b) return a;
  const sameKey = a.pubkeyHex === b.pubkeyHex;
  const level = authRank(a.level) <= authRank(b.level) ? a.level : b.level;
  if (sameKey && a.level === level && a.remote === b.remote) return a;
  return {
    pubkey: sameKey ? a.pubkey : EMPTY,
    pubkeyHex: sameKey ? a.pubkeyHex : "",
    level,
    remote: a.remote === b.remote ? a.remote : "(unknown)",
  };
}

let nextSerial = 1;

/**
 * One connection as the listener knows it: the ROUTER route its messages arrive on, its identity, and the ZAP routes
 * of the handshake sessions it may belong to (one, except while an ambiguity is unresolved). A ZAP route is our own
 * handle on a libzmq session for its whole life; a send to it fails with EHOSTUNREACH once the session is gone.
 */
export class Conn {
  readonly serial = nextSerial++;
  /** Set once the route's pipe is known to be closing or gone; the entry is dropped when the pipe has drained. */
  dead = false;
  /** The listener's read clock at this route's last message: a dead route drains within a bounded number of reads. */
  lastRead: number;
  /** Liveness probes: the running one, and the cooldown before another may start (doubles per live answer). */
  probing = false;
  /** A check asked for during the cooldown, run when it ends. */
  recheck: NodeJS.Timeout | undefined;
  probeCooldownUntil = 0;
  probeCooldown = 0;
  /**
   * Messages read while the connection's identity is provisional (a temporary route that may be a new connection or
   * one whose route was handed over); served, in order, once the handshake gate has settled who it is.
   */
  held: Buffer[][] | undefined;
  /**
   * The largest batch this connection's peer takes, if it sent HI with the batch feature, else 0: what we send it in
   * one turn goes out in batches (docs/protocol.md#coalescing). Per connection: a reconnect, or another connection
   * on the route, starts without.
   */
  batchBytes = 0;
  /** The messages waiting for this turn's batch (docs/protocol.md#coalescing). */
  coalescer: Coalescer | undefined;

  constructor(
    readonly route: Buffer,
    readonly key: string,
    public identity: Identity,
    public sessions: readonly Buffer[],
    clock: number,
  ) {
    this.lastRead = clock;
  }
}

/**
 * The routes of one listener's open connections. The table keeps one invariant that the whole identity scheme rests
 * on: **every live pipe's route is in the table**. An entry is removed only after the route was proven dead (a send
 * to it failed with EHOSTUNREACH, or every session it may belong to is gone) and its pipe has drained, so an empty
 * frame on a route the table does not know is libzmq's connect notification of a new pipe, or (on a temporary route
 * only, see isTemporaryRoute) a message of a pipe that libzmq renamed.
 */
export class RouteTable {
  private readonly byRoute = new Map<string, Conn>();
  private readonly byKeyHex = new Map<string, Set<Conn>>();
  private readonly dying = new Set<Conn>();
  /**
   * Told when a connection is gone and its last messages have been read (its pending requests fail then, not before:
   * a reply may still be queued behind the moment it was found dead).
   */
  onDead: ((conn: Conn) => void) | undefined;

  get size(): number {
    return this.byRoute.size;
  }

  /** Entries not known to be dead. */
  get liveSize(): number {
    return this.byRoute.size - this.dying.size;
  }

  get(key: string): Conn | undefined {
    return this.byRoute.get(key);
  }

  /** Connections authenticated with this key (hex), most recent last. */
  withKey(hex: string): ReadonlySet<Conn> | undefined {
    return this.byKeyHex.get(hex);
  }

  values(): IterableIterator<Conn> {
    return this.byRoute.values();
  }

  /** Binds `route` to a new connection, replacing whatever held it. */
  open(route: Buffer, identity: Identity, sessions: readonly Buffer[], clock: number): Conn {
    const key = route.toString("latin1");
    const conn = new Conn(Buffer.from(route), key, identity, sessions, clock);
    this.put(conn);
    return conn;
  }

  /** Puts `conn` (back) on its route, replacing the current holder. */
  put(conn: Conn): void {
    const old = this.byRoute.get(conn.key);
    if (old) {
      this.unindex(old);
      if (old.dead && old !== conn) this.onDead?.(old);
    }
    this.byRoute.set(conn.key, conn);
    this.index(conn);
  }

  /** Changes a connection's identity (when an ambiguity resolves), keeping the key index right. */
  reidentify(conn: Conn, identity: Identity, sessions: readonly Buffer[]): void {
    const current = this.byRoute.get(conn.key) === conn;
    if (current) this.unindex(conn);
    conn.identity = identity;
    conn.sessions = sessions;
    if (current) this.index(conn);
  }

  /**
   * The route's pipe is closing or gone. Its last messages may still be queued (a route silent for long can send a
   * burst and hang up), so it counts as drained only a full round of reads after this moment without a message.
   */
  markDead(conn: Conn, clock: number): void {
    if (conn.dead) return;
    conn.dead = true;
    conn.lastRead = Math.max(conn.lastRead, clock);
    if (this.byRoute.get(conn.key) === conn) this.dying.add(conn);
    else this.onDead?.(conn); // no longer on its route: nothing more can be read from it
  }

  get hasDying(): boolean {
    return this.dying.size > 0;
  }

  /**
   * Drops dead entries whose pipes have drained: all of them when the socket had nothing left to read, otherwise
   * those whose route has been silent for longer than a full round of libzmq's fair queue (`bound` reads).
   */
  sweepDead(quiescent: boolean, clock: number, bound: number): void {
    for (const conn of this.dying) {
      if (!quiescent && clock - conn.lastRead <= bound) continue;
      this.dying.delete(conn);
      if (this.byRoute.get(conn.key) === conn) {
        this.byRoute.delete(conn.key);
        this.unindex(conn);
      }
      this.onDead?.(conn);
    }
  }

  clear(): void {
    this.byRoute.clear();
    this.byKeyHex.clear();
    this.dying.clear();
  }

  private index(conn: Conn): void {
    if (conn.dead) this.dying.add(conn);
    const hex = conn.identity.pubkeyHex;
    if (!hex) return;
    let set = this.byKeyHex.get(hex);
    if (!set) this.byKeyHex.set(hex, (set = new Set()));
    set.add(conn);
  }

  private unindex(conn: Conn): void {
    this.dying.delete(conn);
    const hex = conn.identity.pubkeyHex;
    const set = hex ? this.byKeyHex.get(hex) : undefined;
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.byKeyHex.delete(hex);
  }
}
