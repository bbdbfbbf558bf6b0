import type { ConnectionID } from "../net/connection-id.js";

interface Entry<T> {
  readonly conn: ConnectionID;
  expiry: number;
  data: T;
}

/**
 * Pub/sub helper (docs/protocol.md#subscriptions): connections subscribe for a while with optional data and `publish` visits every
 * live subscriber. Single-threaded JS needs no lock.
 */
export class Subscription<T = undefined> {
  private readonly subs = new Map<string, Entry<T>>();

  constructor(
    readonly description: string,
    /** Milliseconds a subscription lasts after each subscribe call. Default 30 minutes. */
    readonly duration: number = 30 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True if the subscription is new or its data changed (then replaced); false for a pure refresh. */
  subscribe(conn: ConnectionID, data?: T): boolean {
    const expiry = this.now() + this.duration;
    const old = this.subs.get(conn.key);
    if (old && old.expiry >= this.now()) {
      old.expiry = expiry;
      if (isDeepStrictEqualLite(old.data, data)) return false;
      old.data = data as T;
      return true;
    }
    this.subs.set(conn.key, { conn, expiry, data: data as T });
    return true;
  }

  /** Removes a subscriber; returns its data (or true when it had none), undefined if it was not subscribed. */
  unsubscribe(conn: ConnectionID): T | true | undefined {
    const old = this.subs.get(conn.key);
    if (!old) return undefined;
    this.subs.delete(conn.key);
    return old.data === undefined ? true : old.data;
  }

  removeExpired(): void {
    const now = this.now();
    for (const [k, e] of this.subs) if (e.expiry < now) this.subs.delete(k);
  }

  /** Calls `fn` for every live subscriber, then drops expired ones. */
  publish(fn: (conn: ConnectionID, data: T) => void): void {
    const now = this.now();
    for (const e of this.subs.values()) if (e.expiry >= now) fn(e.conn, e.data);
    this.removeExpired();
  }

  get size(): number {
    return this.subs.size;
  }
}

function isDeepStrictEqualLite(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
