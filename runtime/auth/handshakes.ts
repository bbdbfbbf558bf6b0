import type { AuthLevel } from "./access.js";
import { toHex } from "../base/encoding.js";
import type { Log } from "../base/log.js";
import type { Conn, Identity, RouteTable } from "./routes.js";
import type { AllowFunc, ZapRequest } from "./zap.js";

/** What the gate needs from the ZAP handler. */
export interface ZapReplies {
  /** Answers a request; resolves false when the handshake's session is already gone (nothing was admitted). */
  reply(req: ZapRequest, level: AuthLevel): Promise<boolean>;
  /** Whether the session behind a ZAP route still exists (a silent check: nothing reaches the peer). */
  alive(zapRoute: Buffer): Promise<boolean>;
}

/** What the gate needs from its listener. */
export interface GateHost {
  readonly table: RouteTable;
  /** Messages read from the listener's socket so far. */
  readonly clock: number;
  /** Checks a connection that may have closed (see Listener.suspect). */
  suspect(conn: Conn): void;
  /** Asks for a drain check at the next safe point (the gate waits for the socket to have nothing left to read). */
  wantDrain(): void;
  /**
   * Emits a marker into libzmq's event stream for this socket; `onMarker(id)` is called when it arrives, after every
   * event libzmq emitted before it.
   */
  barrier(): string;
  /** Called just before sends to routes start to be held (an approval is about to leave). */
  holding(): void;
  /** Called when sends to routes may flow again. */
  released(): void;
  /** A provisional connection's identity is settled: serve the messages held for it. */
  release(conn: Conn): void;
}

export interface GateOptions {
  readonly curve: boolean;
  readonly allow: AllowFunc | undefined;
  /** Level when there is no `allow` callback. */
  readonly level: AuthLevel;
  readonly isServiceNode: (pubkeyHex: string) => boolean;
}

/** An identity to give the next new pipe, and the ZAP session it belongs to. */
export interface Candidate {
  readonly identity: Identity;
  readonly sessions: readonly Buffer[];
}

/** The one approved handshake that is not settled yet. */
interface Epoch {
  readonly identity: Identity;
  readonly zapRoute: Buffer;
  /** Its pipe's connect notification has been read (or it is known to have no pipe): no new pipe can appear. */
  resolved: boolean;
  /** It has a pipe (its notification was identified, or libzmq reported it complete). */
  piped: boolean;
  /** libzmq's handshake event for it has arrived (every pipe gets exactly one, after its notification). */
  event: boolean;
  eventClock: number;
  /**
   * Empty frames while unresolved that may be this handshake's connect notification: on known routes (its pipe taking
   * the route over; `previous` held it before) and on new temporary routes (no `previous`: a new pipe without a
   * routing id, or a renamed old pipe's message).
   */
  readonly ambiguous: Array<{ conn: Conn; previous: Conn | undefined; empties: number }>;
  /** Its session is gone; a marker shows whether its handshake event was still on its way. */
  marker: string | undefined;
  probes: number;
  timer: NodeJS.Timeout | undefined;
}

/** Intervals (ms) between checks of an unresolved handshake's session; the last one repeats. */
const CHECKS = [20, 80, 400, 1_500, 2_000];

/**
 * The handshake gate of one listener (docs/identity.md). ZAP approvals are released one at a time, and the next is
 * released only when the previous one has *settled*: its connection identified and libzmq's handshake event for it
 * received, or it known to have no connection. So at any moment at most one handshake can produce a new pipe or a
 * handshake event, and both are attributed to it without guessing. Its connect notification (an empty first message
 * on a route the table does not know) binds that route to the approval's key and level. Empty frames on known routes
 * are disconnect notifications, forgeries or a handover; while the approval is unresolved such a route gets the meet
 * of both identities, and the handshake event plus a drained socket, or a notification elsewhere, show which it was.
 * Sends to routes wait while the approval is unresolved (a new pipe could have taken any route).
 */
export class HandshakeGate {
  /** Requests waiting for their turn, each with its allow() decision already under way. */
  private readonly queue: Array<{ readonly req: ZapRequest; readonly decision: Promise<AuthLevel> }> = [];
  private epoch: Epoch | undefined;
  private pumping = false;
  private closed = false;

  constructor(
    private readonly host: GateHost,
    private readonly zap: ZapReplies,
    private readonly options: GateOptions,
    private readonly log: Log,
  ) {}

  /** Sends to routes must wait: a handshake is approved but its connection is not identified yet. */
  get holding(): boolean {
    return this.epoch !== undefined && !this.epoch.resolved;
  }

  /** Whether a drain check would let the epoch progress. */
  get wantsDrain(): boolean {
    const e = this.epoch;
    return e !== undefined && e.event && !e.resolved;
  }

  /**
   * A valid ZAP request for this listener. Its `allow()` decision starts at once; only the answers go out one at a
   * time, so a queue of handshakes (or of abandoned ones, which are skipped when their answer fails) waits for
   * nothing but libzmq.
   */
  request(req: ZapRequest): void {
    this.queue.push({ req, decision: this.decide(req) });
    this.run();
  }

  private run(): void {
    this.spawn(this.pump());
  }

  /** Runs an asynchronous step whose failure can only be a bug: logged, never an unhandled rejection. */
  private spawn(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.internalError(err));
  }

  private internalError(err: unknown): void {
    this.log.error(`handshake gate: internal error: ${err instanceof Error ? err.stack : String(err)}`);
  }

  /** The identity for a new pipe's connect notification now, or undefined when no new pipe can appear. */
  candidate(): Candidate | undefined {
    const e = this.epoch;
    return e && !e.resolved ? { identity: e.identity, sessions: [e.zapRoute] } : undefined;
  }

  /** A connect notification arrived on a route the table did not know: the approved handshake's connection. */
  matched(): void {
    const e = this.epoch;
    if (!e || e.resolved) return;
    e.piped = true;
    // Its pipe is elsewhere: every empty frame seen on a known route was its holder's own (a disconnect or a forgery).
    this.resolve(e, "elsewhere");
  }

  /**
   * An empty frame on a new temporary route while unresolved: `conn` holds it unattributed, its messages held, until
   * the epoch shows whether it was this handshake's pipe.
   */
  provisional(conn: Conn): void {
    const e = this.epoch;
    if (!e || e.resolved) return;
    e.ambiguous.push({ conn, previous: undefined, empties: 1 });
  }

  /** An empty frame on a known route while unresolved; `conn` now holds the route with the meet. */
  ambiguous(conn: Conn, previous: Conn): void {
    const e = this.epoch;
    if (!e || e.resolved) return;
    // One entry per route, remembering the holder from before the epoch (a route may get several empty frames).
    const i = e.ambiguous.findIndex((a) => a.conn === previous);
    if (i >= 0) {
      const a = e.ambiguous[i]!;
      e.ambiguous[i] = { conn, previous: a.previous, empties: a.empties + 1 };
    } else e.ambiguous.push({ conn, previous, empties: 1 });
  }

  /** libzmq's handshake-succeeded event on this listener: the epoch's (no other handshake can complete). */
  onHandshake(clock: number): void {
    const e = this.epoch;
    if (!e || e.event) {
      this.log.warn("Handshake event with no approved handshake outstanding; ignoring it");
      return;
    }
    e.event = true;
    e.piped = true;
    e.eventClock = clock;
    if (e.resolved) this.settle(e);
    else this.host.wantDrain();
  }

  /** A handshake failed or a connection dropped somewhere on this listener: the outstanding one may be gone. */
  onFailure(): void {
    const e = this.epoch;
    if (e && !e.piped && e.marker === undefined && e.probes < 8) setTimeout(() => this.spawn(this.check(e)), 1).unref();
  }

  /** A marker emitted by `barrier()` arrived (`address` contains its id): every event emitted before it has too. */
  onMarker(address: string): void {
    const e = this.epoch;
    if (!e || e.marker === undefined || !address.includes(e.marker)) return;
    e.marker = undefined;
    // Its session is gone and no handshake event came before the marker: it never completed, so it has no pipe.
    if (!e.event) this.resolve(e, "elsewhere");
  }

  /**
   * The socket drained: `quiescent` when it had nothing left to read, otherwise `clock` counts reads, and `bound`
   * reads are more than a full round of libzmq's fair queue (so a notification pushed before the handshake event
   * has surely been read).
   */
  onDrain(quiescent: boolean, clock: number, bound: number): void {
    const e = this.epoch;
    if (!e || !e.event || e.resolved || !(quiescent || clock - e.eventClock > bound)) return;
    // Its notification has been read, and it was not on a new route: it was one of the ambiguous ones.
    if (e.ambiguous.length === 1) {
      // The only candidate: that route was taken over by (or newly given to) this handshake's connection.
      const { conn, empties } = e.ambiguous[0]!;
      this.host.table.reidentify(conn, e.identity, [e.zapRoute]);
      e.ambiguous.length = 0;
      // More empty frames than its notification: the connection may have closed already (or forged one).
      if (empties > 1) this.host.suspect(conn);
      this.host.release(conn);
      this.resolve(e, "elsewhere");
    } else {
      if (e.ambiguous.length === 0) this.log.warn("A handshake completed but its notification was not seen");
      this.resolve(e, "unknown");
    }
  }

  shutdown(): void {
    this.closed = true;
    if (this.epoch) clearTimeout(this.epoch.timer);
    this.queue.length = 0;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && !this.epoch && this.queue.length) {
        const { req, decision } = this.queue.shift()!;
        const level = await decision;
        if (this.closed) return;
        if (level === "denied") {
          this.log.info(`Access denied for incoming ${this.kind} connection from ${req.address}`);
          await this.zap.reply(req, "denied");
          continue;
        }
        const pubkeyHex = this.options.curve ? toHex(req.pubkey) : "";
        // The epoch opens before the reply leaves: the new pipe's notification can never be read ahead of it.
        const e: Epoch = {
          identity: { pubkey: req.pubkey, pubkeyHex, level, remote: req.address },
          zapRoute: req.zapRoute,
          resolved: false,
          piped: false,
          event: false,
          eventClock: 0,
          ambiguous: [],
          marker: undefined,
          probes: 0,
          timer: undefined,
        };
        this.host.holding();
        this.epoch = e;
        if (!(await this.zap.reply(req, level))) {
          this.log.debug(`Handshake from ${req.address} was gone before its approval`);
          this.resolve(e, "elsewhere");
          continue;
        }
        this.log.debug(`Accepted ${this.kind} connection from ${req.address} at auth level ${level}`);
        if (this.epoch === e && !e.piped) this.schedule(e);
      }
    } finally {
      this.pumping = false;
    }
  }

  private get kind(): string {
    return this.options.curve ? "curve" : "plain";
  }

  private async decide(req: ZapRequest): Promise<AuthLevel> {
    const { allow, curve } = this.options;
    if (!allow) return this.options.level;
    const sn = curve && this.options.isServiceNode(toHex(req.pubkey));
    try {
      const level = await allow(req.address, req.pubkey, sn);
      return level === "none" || level === "basic" || level === "admin" ? level : "denied";
    } catch (err) {
      this.log.error(`allow callback threw, denying ${req.address}: ${String(err)}`);
      return "denied";
    }
  }

  /** Checks the handshake's session now and then while it has not shown a pipe (libzmq normally takes microseconds). */
  private schedule(e: Epoch): void {
    e.timer = setTimeout(() => this.spawn(this.check(e)), CHECKS[Math.min(e.probes, CHECKS.length - 1)]);
    e.timer.unref();
  }

  /** If the handshake's session is gone before it showed a pipe, a marker tells whether its event is on its way. */
  private async check(e: Epoch): Promise<void> {
    if (this.epoch !== e || e.piped || e.marker !== undefined) return;
    e.probes++;
    clearTimeout(e.timer);
    if (await this.zap.alive(e.zapRoute)) {
      if (this.epoch === e && !e.piped && e.marker === undefined) this.schedule(e);
      return;
    }
    if (this.epoch !== e || e.piped || e.marker !== undefined) return;
    this.log.debug(() => `Handshake from ${e.identity.remote} ended; waiting for libzmq's events to catch up`);
    try {
      e.marker = this.host.barrier();
    } catch (err) {
      // Without a marker the outcome stays unknown: keep the epoch (and its hold), and try again later.
      this.internalError(err);
      this.schedule(e);
    }
  }

  /**
   * The handshake's notification is accounted for. "elsewhere": its pipe is on a new route, or it has none, so the
   * ambiguous routes go back to their previous holders. "unknown": several candidates (some forged) keep the meet.
   * Temporary routes stay unattributed either way. All are checked, since an empty frame may have been a disconnect.
   */
  private resolve(e: Epoch, outcome: "elsewhere" | "unknown"): void {
    const { table } = this.host;
    for (const { conn, previous } of e.ambiguous) {
      if (previous === undefined) {
        this.host.suspect(conn);
        this.host.release(conn);
        continue;
      }
      if (outcome === "elsewhere" && table.get(conn.key) === conn) table.put(previous);
      this.host.suspect(outcome === "elsewhere" ? previous : conn);
    }
    this.log.debug(
      () =>
        `Handshake from ${e.identity.remote} resolved (${outcome}; ${e.ambiguous.length} ambiguous route(s), ` +
        `${e.piped ? "connected" : "no connection"})`,
    );
    e.ambiguous.length = 0;
    e.resolved = true;
    this.host.released();
    this.settle(e);
  }

  /** Once resolved and (if it has a pipe) its event has arrived, the next approval may go. */
  private settle(e: Epoch): void {
    if (this.epoch !== e || !e.resolved || (e.piped && !e.event)) return;
    clearTimeout(e.timer);
    this.epoch = undefined;
    this.run();
  }
}
