import type { AuthLevel } from "./auth.js";
import { toHex } from "./encoding.js";
import type { Log } from "./log.js";
import { meet, type Conn, type Identity, type RouteTable } from "./routes.js";
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
  /** Called when sends to routes may flow again. */
  released(): void;
}

export interface GateOptions {
  readonly curve: boolean;
  readonly allow: AllowFunc | undefined;
  /** Level when there is no `allow` callback. */
  readonly level: AuthLevel;
  readonly isServiceNode: (pubkeyHex: string) => boolean;
  /** How long an approved handshake may take to show up before it is treated as lost (ms). */
  readonly settleTime: number;
  /** How long a lost handshake's identity keeps constraining new connections at most (ms). */
  readonly limboTime: number;
}

/** An identity to give the next new pipe, and the ZAP sessions it may belong to. */
export interface Candidate {
  readonly identity: Identity;
  readonly sessions: readonly Buffer[];
}

/** The one approved handshake whose connection has not been identified yet. */
interface Epoch {
  readonly identity: Identity;
  readonly zapRoute: Buffer;
  /** A new route (never seen before) got this handshake's connect notification. */
  matched: boolean;
  /** libzmq reported the handshake complete: its connect notification has been pushed to the socket. */
  success: boolean;
  successClock: number;
  /** Empty frames on known routes while this epoch was open: each may be this handshake taking the route over. */
  readonly ambiguous: Array<{ conn: Conn; previous: Conn }>;
  timer: NodeJS.Timeout | undefined;
  probes: number;
}

/** An approved handshake that may still deliver a connect notification nobody can attribute. */
interface Lost {
  readonly identity: Identity;
  readonly zapRoute: Buffer;
  readonly since: number;
  deadClock: number | undefined;
}

/**
 * The handshake gate of one listener (docs/identity.md). ZAP approvals are released one at a time: the next new pipe
 * on the listener is then the approved handshake's, so its connect notification (an empty first message on a route
 * the table does not know) binds that route to the approval's key and level. Empty frames on known routes are
 * libzmq's disconnect notifications, a peer's forgeries, or a handover; while an approval is outstanding such a
 * route gets the meet of both identities, and the epoch resolves the ambiguity when libzmq's handshake event and a
 * drained socket show which it was. While an approval is outstanding, sends to routes are held (a new pipe could
 * have taken over any route, and its notification may still be unread).
 */
export class HandshakeGate {
  private readonly queue: ZapRequest[] = [];
  private epoch: Epoch | undefined;
  private readonly lost: Lost[] = [];
  private lostSuccess = 0;
  /** Handshake events still to come for epochs that were identified before their event arrived. */
  private owedSuccess = 0;
  private pumping = false;
  private lostTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly host: GateHost,
    private readonly zap: ZapReplies,
    private readonly options: GateOptions,
    private readonly log: Log,
  ) {}

  /** Sends to routes must wait: a handshake is approved but its connection is not identified yet. */
  get holding(): boolean {
    return (this.epoch !== undefined && !this.epoch.matched) || this.lost.length > 0;
  }

  /** Whether a drain check would let something progress. */
  get wantsDrain(): boolean {
    return this.epoch?.success === true || this.lost.some((l) => l.deadClock !== undefined) || this.lostSuccess > 0;
  }

  /** A valid ZAP request for this listener. */
  request(req: ZapRequest): void {
    this.queue.push(req);
    void this.pump();
  }

  /** The identity for a new pipe's connect notification now, or undefined when no approval is outstanding. */
  candidate(): Candidate | undefined {
    const e = this.epoch;
    if (e && !e.matched) return { identity: this.withLost(e.identity)!, sessions: [e.zapRoute, ...this.lostRoutes()] };
    if (this.lost.length) return { identity: this.withLost(undefined)!, sessions: this.lostRoutes() };
    return undefined;
  }

  /** A connect notification arrived on a route the table did not know: the outstanding handshake's connection. */
  matched(): void {
    const e = this.epoch;
    if (e && !e.matched && this.lost.length === 0) {
      e.matched = true;
      if (!e.success) this.owedSuccess++;
      this.close(e, "matched");
      return;
    }
    // While lost handshakes are pending the notification may be one of theirs; with exactly one it must be.
    if (!e && this.lost.length === 1) {
      this.lost.length = 0;
      this.lostSuccess = 0;
      this.afterLost();
    }
  }

  /** An empty frame on a known route while an approval was outstanding; `conn` now holds the route with the meet. */
  ambiguous(conn: Conn, previous: Conn): void {
    const e = this.epoch;
    if (!e) return;
    // One entry per route, remembering the holder from before the epoch (a route may get several empty frames).
    const i = e.ambiguous.findIndex((a) => a.conn === previous);
    if (i >= 0) e.ambiguous[i] = { conn, previous: e.ambiguous[i]!.previous };
    else e.ambiguous.push({ conn, previous });
  }

  /** libzmq's handshake-succeeded event on this listener. */
  onHandshake(clock: number): void {
    this.log.trace(() => `handshake event (owed ${this.owedSuccess}, epoch ${this.epoch !== undefined})`);
    if (this.owedSuccess > 0) {
      this.owedSuccess--;
      return;
    }
    const e = this.epoch;
    if (e && !e.success) {
      e.success = true;
      e.successClock = clock;
      this.host.wantDrain();
    } else if (!e && this.lost.length) {
      this.lostSuccess++;
      this.host.wantDrain();
    }
  }

  /** A handshake failed or a connection dropped somewhere on this listener: the outstanding one may be gone. */
  onFailure(): void {
    const e = this.epoch;
    if (!e || e.success || e.probes >= 3) return;
    e.probes++;
    setTimeout(() => void this.checkEpochAlive(e), e.probes === 1 ? 2 : 25);
  }

  /**
   * The socket drained: `quiescent` when it had nothing left to read, otherwise `clock` counts reads, and `bound`
   * reads are more than a full round of libzmq's fair queue (so a pushed notification has surely been read).
   */
  onDrain(quiescent: boolean, clock: number, bound: number): void {
    const e = this.epoch;
    if (e?.success && (quiescent || clock - e.successClock > bound)) this.close(e, "handshake");
    let changed = false;
    for (let i = this.lost.length - 1; i >= 0; i--) {
      const l = this.lost[i]!;
      if (l.deadClock !== undefined && (quiescent || clock - l.deadClock > bound)) {
        this.lost.splice(i, 1);
        changed = true;
      }
    }
    if (this.lostSuccess > 0 && quiescent && this.lost.length === 1) {
      this.lost.length = 0;
      changed = true;
    }
    if (changed) this.afterLost();
  }

  shutdown(): void {
    this.closed = true;
    if (this.epoch) clearTimeout(this.epoch.timer);
    clearTimeout(this.lostTimer);
    this.queue.length = 0;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && !this.epoch && this.lost.length === 0 && this.queue.length) {
        const req = this.queue.shift()!;
        const level = await this.decide(req);
        if (this.closed) return;
        if (level === "denied") {
          this.log.info(`Access denied for incoming ${this.kind} connection from ${req.address}`);
          await this.zap.reply(req, "denied");
          continue;
        }
        const pubkeyHex = this.options.curve ? toHex(req.pubkey) : "";
        const identity: Identity = { pubkey: req.pubkey, pubkeyHex, level, remote: req.address };
        // The epoch opens before the reply leaves: the new pipe's notification can never be read ahead of it.
        const e: Epoch = {
          identity,
          zapRoute: req.zapRoute,
          matched: false,
          success: false,
          successClock: 0,
          ambiguous: [],
          timer: undefined,
          probes: 0,
        };
        this.epoch = e;
        if (!(await this.zap.reply(req, level))) {
          this.log.debug(`Handshake from ${req.address} was gone before its approval`);
          this.close(e, "gone");
          continue;
        }
        this.log.debug(`Accepted ${this.kind} connection from ${req.address} at auth level ${level}`);
        if (this.epoch === e) e.timer = setTimeout(() => void this.settle(e), this.options.settleTime);
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

  /** The handshake's connection has not shown up in time: if its session is gone, nothing more will come. */
  private async settle(e: Epoch): Promise<void> {
    if (this.epoch !== e || e.success || e.matched) return;
    // Let any already-signalled socket events run first (a stalled event loop fires timers before I/O).
    await new Promise((r) => setImmediate(r));
    if (this.epoch !== e || e.success || e.matched) return;
    this.close(e, "lost");
  }

  private async checkEpochAlive(e: Epoch): Promise<void> {
    if (this.epoch !== e || e.success || e.matched) return;
    if (await this.zap.alive(e.zapRoute)) return;
    if (this.epoch === e && !e.success && !e.matched) this.close(e, "lost");
  }

  private close(e: Epoch, how: "matched" | "handshake" | "gone" | "lost"): void {
    if (this.epoch !== e) return;
    this.log.debug(
      () => `Handshake from ${e.identity.remote} resolved (${how}; ${e.ambiguous.length} ambiguous route(s))`,
    );
    clearTimeout(e.timer);
    this.epoch = undefined;
    const { table } = this.host;
    if (how === "matched" || how === "gone") {
      // The handshake's pipe is elsewhere (or nowhere): every empty frame seen on a known route was the previous
      // holder's own (a disconnect or a forgery), so those routes go back to their holders.
      for (const { conn, previous } of e.ambiguous) {
        if (table.get(conn.key) === conn) table.put(previous);
        this.host.suspect(previous);
      }
    } else if (how === "handshake" && e.ambiguous.length === 1) {
      // The handshake's notification was read, and the only candidate was this route: it was taken over.
      const { conn } = e.ambiguous[0]!;
      table.reidentify(conn, e.identity, [e.zapRoute]);
    } else {
      // Several candidates (some forged), or an unknown outcome: they keep the meet, and are checked.
      for (const { conn } of e.ambiguous) this.host.suspect(conn);
      if (how === "lost") {
        this.log.warn(`A ${this.kind} handshake from ${e.identity.remote} did not complete in time; holding new ones`);
        this.lost.push({ identity: e.identity, zapRoute: e.zapRoute, since: Date.now(), deadClock: undefined });
        this.watchLost();
      } else if (e.ambiguous.length === 0)
        this.log.warn(`A ${this.kind} handshake from ${e.identity.remote} completed without a notification`);
    }
    this.host.released();
    void this.pump();
  }

  private withLost(identity: Identity | undefined): Identity | undefined {
    let out = identity;
    for (const l of this.lost) out = out ? meet(out, l.identity) : l.identity;
    return out;
  }

  private lostRoutes(): Buffer[] {
    return this.lost.map((l) => l.zapRoute);
  }

  /** Polls the sessions of lost handshakes until they are gone (then drained) or have waited `limboTime`. */
  private watchLost(): void {
    if (this.lostTimer || this.closed) return;
    const tick = async (): Promise<void> => {
      this.lostTimer = undefined;
      const now = Date.now();
      for (const l of [...this.lost]) {
        if (now - l.since > this.options.limboTime) {
          this.lost.splice(this.lost.indexOf(l), 1);
          this.log.warn(`Giving up on a lost handshake from ${l.identity.remote}`);
        } else if (l.deadClock === undefined && !(await this.zap.alive(l.zapRoute))) {
          l.deadClock = this.host.clock;
          this.host.wantDrain();
        }
      }
      if (this.lost.length === 0) this.afterLost();
      else if (!this.closed) this.lostTimer = setTimeout(() => void tick(), 20);
    };
    this.lostTimer = setTimeout(() => void tick(), 0);
  }

  private afterLost(): void {
    if (this.lost.length) return;
    this.lostSuccess = 0;
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    this.host.released();
    void this.pump();
  }
}
