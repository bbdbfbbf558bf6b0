import { randomFillSync } from "node:crypto";
import { OmqError } from "../base/errors.js";

export const REPLY_TAG_BYTES = 15;
/** The random bytes of a tag: base64url writes 11 bytes as 15 characters. */
const RANDOM_BYTES = 11;
const MAX_TIMER_DELAY = 2 ** 31 - 1;

let tagPool = Buffer.alloc(0);
let tagOffset = 0;

interface Pending {
  readonly resolve: (data: Buffer[]) => void;
  readonly reject: (err: OmqError) => void;
  readonly command: string;
  readonly connKey: string;
  readonly timeoutMs: number;
  /** `performance.now()` time at which the request times out. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** The connection the request went out on, while the request should fail when that connection is lost. */
  via: object | undefined;
  /** Made by a handler (through its Message): it may run while the instance drains. */
  readonly fromHandler: boolean;
}

/** The requests waiting on one AbortSignal; the signal has one listener, however many requests share it. */
interface SignalWaiters {
  readonly keys: Set<string>;
  readonly listener: () => void;
}

/**
 * Requests waiting for a reply, keyed by their 15-byte tag, each with a deadline and an optional AbortSignal.
 *
 * One timer serves every deadline: it is armed at the earliest one and, when it fires, fails what has expired and
 * re-arms for the next. Requests with the same timeout arrive in deadline order, so a new request usually leaves the
 * timer alone: no timer object per request (they showed in the request benchmark's profile and GC). A timeout
 * still fires within milliseconds of its deadline, not at the next 250 ms sweep as in C++.
 */
export class PendingRequests {
  /** @param deliverTimeout runs a timeout's rejection; the instance queues it as a batch job (as C++ does). */
  constructor(private readonly deliverTimeout: (reject: () => void) => void = (r) => r()) {}

  private readonly byTag = new Map<string, Pending>();
  /** Pending requests by the connection they went out on (docs/scheduling.md#shutdown-and-faults). */
  private readonly byVia = new Map<object, Set<string>>();
  private readonly bySignal = new WeakMap<AbortSignal, SignalWaiters>();
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for. */
  private armedFor = Infinity;

  get size(): number {
    return this.byTag.size;
  }

  /**
   * A fresh random tag: 15 ASCII characters (the base64url form of 11 random bytes, 88 bits), drawn from a pool
   * refilled in bulk (one randomFillSync per request cost 8% of the client). A string rather than a Buffer: it is the
   * pending request's key as it is, and goes on the wire as its 15 bytes, so a request makes no Buffer for its tag.
   */
  static newTag(): string {
    if (tagOffset + RANDOM_BYTES > tagPool.length) {
      tagPool = randomFillSync(Buffer.allocUnsafe(RANDOM_BYTES * 1024));
      tagOffset = 0;
    }
    const tag = tagPool.toString("base64url", tagOffset, tagOffset + RANDOM_BYTES);
    tagOffset += RANDOM_BYTES;
    return tag;
  }

  add(
    tag: string | Buffer,
    connKey: string,
    command: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (data: Buffer[]) => void,
    reject: (err: OmqError) => void,
    fromHandler = false,
  ): void {
    const key = typeof tag === "string" ? tag : tag.toString("latin1");
    const deadline = performance.now() + timeoutMs;
    const entry: Pending = {
      resolve,
      reject,
      command,
      connKey,
      timeoutMs,
      deadline,
      signal,
      via: undefined,
      fromHandler,
    };
    this.byTag.set(key, entry);
    if (deadline < this.armedFor) this.arm(deadline);
    else this.timer?.ref();
    if (signal) this.watchSignal(signal, key);
  }

  /**
   * Records the connection a pending request went out on: `failVia` fails it when that connection is lost. A request
   * that already settled (its send failed synchronously) is left alone.
   */
  setVia(tag: string | Buffer, via: object): void {
    const key = typeof tag === "string" ? tag : tag.toString("latin1");
    const entry = this.byTag.get(key);
    if (!entry) return;
    entry.via = via;
    let set = this.byVia.get(via);
    if (!set) this.byVia.set(via, (set = new Set()));
    set.add(key);
  }

  /** Fails every request that went out on `via` (its connection was lost); returns how many. */
  failVia(via: object, err: (command: string) => OmqError): number {
    const set = this.byVia.get(via);
    if (!set) return 0;
    let n = 0;
    for (const key of [...set]) {
      const e = this.byTag.get(key);
      if (e && this.fail(key, err(e.command))) n++;
    }
    return n;
  }

  /** One abort listener per signal: the first request on a signal adds it, the last one to settle removes it. */
  private watchSignal(signal: AbortSignal, key: string): void {
    let waiters = this.bySignal.get(signal);
    if (!waiters) {
      const keys = new Set<string>();
      const listener = (): void => this.onAbort(signal, keys);
      waiters = { keys, listener };
      this.bySignal.set(signal, waiters);
      signal.addEventListener("abort", listener, { once: true });
    }
    waiters.keys.add(key);
  }

  private onAbort(signal: AbortSignal, keys: Set<string>): void {
    if (this.bySignal.get(signal)?.keys === keys) this.bySignal.delete(signal);
    for (const key of [...keys]) {
      const e = this.byTag.get(key);
      if (e) this.fail(key, new OmqError("ABORTED", `request '${e.command}' aborted`, { cause: signal.reason }));
    }
  }

  /** Removes and returns the entry for a tag (a reply or an error reply arrived), or undefined if unknown or late. */
  take(tag: Buffer): Pending | undefined {
    return this.remove(tag.toString("latin1"));
  }

  /** Fails the request with this tag; false if it was no longer pending. */
  fail(key: string, err: OmqError): boolean {
    const entry = this.remove(key);
    if (!entry) return false;
    entry.reject(err);
    return true;
  }

  /**
   * The tag of the only pending request for `command` on a connection, if there is exactly one. A scan: it only runs
   * when an error reply arrives, and keeping an index would cost every request.
   */
  soleTagFor(connKey: string, command: string): string | undefined {
    let found: string | undefined;
    for (const [key, e] of this.byTag) {
      if (e.connKey !== connKey || e.command !== command) continue;
      if (found !== undefined) return undefined;
      found = key;
    }
    return found;
  }

  /** Fails every pending request, or (`exceptHandlers`) those the application made itself. */
  failAll(err: OmqError, exceptHandlers = false): void {
    for (const [key, entry] of [...this.byTag]) if (!(exceptHandlers && entry.fromHandler)) this.fail(key, err);
    if (this.byTag.size === 0) this.arm(Infinity);
  }

  private remove(key: string): Pending | undefined {
    const entry = this.byTag.get(key);
    if (!entry) return undefined;
    this.byTag.delete(key);
    if (entry.signal) this.unwatchSignal(entry.signal, key);
    if (entry.via) {
      const set = this.byVia.get(entry.via);
      if (set?.delete(key) && set.size === 0) this.byVia.delete(entry.via);
    }
    // Idle: the timer stays armed (re-arming per request would cost a timer each) but no longer keeps the process alive.
    if (this.byTag.size === 0) this.timer?.unref();
    return entry;
  }

  private unwatchSignal(signal: AbortSignal, key: string): void {
    const waiters = this.bySignal.get(signal);
    if (!waiters?.keys.delete(key) || waiters.keys.size > 0) return;
    this.bySignal.delete(signal);
    signal.removeEventListener("abort", waiters.listener);
  }

  private arm(deadline: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = deadline;
    if (deadline === Infinity) return;
    // Node's timers have millisecond granularity; +1 so that the deadline has passed when it fires. Node fires delays
    // beyond 2^31-1 ms after 1 ms: such a deadline is approached in steps instead.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, Math.ceil(deadline - performance.now()) + 1));
    this.timer = setTimeout(() => this.expire(), delay);
  }

  /** Fails every request past its deadline (each rejection delivered as a job), then re-arms for the earliest left. */
  private expire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [key, e] of [...this.byTag]) {
      if (e.deadline > now) {
        if (e.deadline < next) next = e.deadline;
        continue;
      }
      this.remove(key);
      const err = new OmqError("TIMEOUT", `request '${e.command}' timed out after ${e.timeoutMs} ms`);
      this.deliverTimeout(() => e.reject(err));
    }
    if (next < this.armedFor) this.arm(next);
  }
}
