import { randomBytes } from "node:crypto";
import { Dealer, type Context, type Observer, type Router } from "zeromq";
import type { AuthLevel } from "../auth/access.js";
import type { ConnectionID } from "./connection-id.js";
import { toHex } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import { HandshakeGate, type GateHost, type ZapReplies } from "../auth/handshakes.js";
import type { Log } from "../base/log.js";
import { Conn, isTemporaryRoute, meet, RouteTable, UNATTRIBUTED } from "../auth/routes.js";
import type { Frame } from "../wire/frames.js";
import { Coalescer, type BatchLink } from "../wire/batch.js";
import { closeObserved, Outbox } from "./sockets.js";
import type { AllowFunc, ZapDomain } from "../auth/zap.js";

export interface ListenOptions {
  /**
   * Called once per incoming handshake with the peer's address, its CURVE key (empty on plain listeners) and whether
   * that key is an active service node; the level it returns is the connection's, and "denied" refuses it.
   */
  readonly allow?: AllowFunc;
  /** The level of every connection when there is no `allow` callback. Default "none". */
  readonly level?: AuthLevel;
}

export type ListenerKind = "curve" | "plain" | "self";

/** Liveness checks after a route's empty frame: delays (ms) until its session is found gone, else it is alive. */
const PROBE_DELAYS = [5, 50, 500, 2_000];
const PROBE_COOLDOWN_MIN = 30_000;
const PROBE_COOLDOWN_MAX = 3_600_000;
/** Messages held for one provisional connection; past this it is served unattributed at once. */
const HELD_MAX = 1_000;

interface HeldSend {
  readonly to: ConnectionID | Conn;
  readonly frames: Frame[];
  readonly onError: ((err: OmqError) => void) | undefined;
}

export interface ListenerDeps {
  /** For the private wake connection; without one (tests), drain checks run only when afterReceive() is called. */
  readonly context?: Context;
  /**
   * Reads beyond one fair-queue round after which a silent route counts as drained: libzmq handles socket commands
   * (new pipes, activations) at least every 100 reads. A model of libzmq without that lag (tests) can use less.
   */
  readonly drainMargin?: number;
  readonly zap: ZapReplies;
  readonly isServiceNode: (pubkeyHex: string) => boolean;
  /** A connection was found dead. */
  readonly connLost?: (conn: Conn) => void;
  /** Serves a message that was held while its connection's identity was provisional (frames as from receive()). */
  readonly release?: (conn: Conn, frames: Buffer[]) => void;
}

/**
 * One bound ROUTER and the identities of its connections (docs/identity.md). Curve and plain listeners run with
 * ROUTER_HANDOVER (as C++ OxenMQ does) and ROUTER_NOTIFY; their handshakes go through this listener's gate, and
 * every route they have ever delivered a message on is in `table` until it is proven dead and drained. The built-in
 * inproc listener ("self") has no handshakes: its messages are admin and carry our own key.
 */
export class Listener implements GateHost {
  readonly outbox: Outbox;
  readonly table = new RouteTable();
  readonly gate: HandshakeGate | undefined;
  endpoint = "";
  /** Messages read so far: the clock for "drained" (see RouteTable.sweepDead). */
  clock = 0;
  private readonly zap: ZapReplies | undefined;
  private readonly drainMargin: number = 128;
  private readonly held: HeldSend[] = [];
  /**
   * A private inproc connection to our own socket, used to make the receive loop run once more. The drain check
   * reads `socket.readable`, which consumes libzmq's edge-triggered readiness signal; done outside the loop while it
   * waits, it could leave a message unread indefinitely, so the check only ever runs inside the loop.
   */
  private readonly wake: { socket: Dealer; key: string; address: string } | undefined;
  private wakePending = false;
  /** A route no peer has (random): a send to it fails at once, and makes zeromq.js re-check readiness. */
  private readonly nowhere = Buffer.concat([Buffer.from("n"), randomBytes(31)]);
  private closed = false;
  private readonly watching: Promise<void> | undefined;
  private observer: Observer | undefined;
  /** Connections libzmq accepted and lost, for spotting routes whose disconnect notification was lost. */
  private accepts = 0;
  private disconnects = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly serveHeld: ((conn: Conn, frames: Buffer[]) => void) | undefined;

  constructor(
    readonly connId: number,
    readonly kind: ListenerKind,
    readonly bindAddress: string,
    readonly options: ListenOptions,
    readonly socket: Router,
    private readonly log: Log,
    deps?: ListenerDeps,
  ) {
    this.outbox = new Outbox(socket, log, `listener ${bindAddress}`);
    if (kind === "self" || !deps) return;
    this.zap = deps.zap;
    this.table.onDead = deps.connLost;
    this.serveHeld = deps.release;
    if (deps.drainMargin !== undefined) this.drainMargin = deps.drainMargin;
    if (deps.context) {
      const wakeId = Buffer.concat([Buffer.from("w"), randomBytes(31)]);
      const wakeSocket = new Dealer({ context: deps.context, linger: 0, sendTimeout: 0 });
      (wakeSocket as unknown as { setStringOption(o: number, v: Buffer): void }).setStringOption(5, wakeId);
      this.wake = { socket: wakeSocket, key: wakeId.toString("latin1"), address: `inproc://oxenmq-listener-${connId}` };
    }
    this.gate = new HandshakeGate(
      this,
      deps.zap,
      {
        curve: kind === "curve",
        allow: options.allow,
        level: options.level ?? "none",
        isServiceNode: deps.isServiceNode,
      },
      log,
    );
    // libzmq's monitor must exist before the socket binds, so that no handshake event is missed.
    this.watching = this.watch();
  }

  /** Binds the socket (after its private wake endpoint) and returns the bound endpoint. */
  async bind(): Promise<string> {
    if (this.wake) {
      await this.socket.bind(this.wake.address);
      this.wake.socket.connect(this.wake.address);
    }
    await this.socket.bind(this.bindAddress);
    this.endpoint = this.socket.lastEndpoint ?? this.bindAddress;
    return this.endpoint;
  }

  /** The ZAP domain of this listener (curve and plain listeners). */
  get zapDomain(): ZapDomain | undefined {
    const gate = this.gate;
    return gate ? { curve: this.kind === "curve", request: (req) => gate.request(req) } : undefined;
  }

  /** Open incoming connections as far as the listener knows (entries not yet proven dead). */
  get connections(): number {
    return this.table.liveSize;
  }

  /**
   * A message `[route, ...frames]` from the socket. Returns the connection to serve it as, or undefined when it was
   * a connect/disconnect notification (or a peer's imitation of one), which the listener consumes.
   */
  receive(frames: Buffer[]): Conn | undefined {
    const route = frames[0]!;
    const key = route.toString("latin1");
    if (key === this.wake?.key) {
      this.wakePending = false;
      return undefined;
    }
    const clock = ++this.clock;
    let conn = this.table.get(key);
    if (frames.length === 2 && frames[1]!.length === 0) {
      this.onEmpty(route, conn);
      return undefined;
    }
    if (conn === undefined) {
      // A pipe libzmq renamed when its routing id was taken over, whose queued messages arrive on a temporary route
      // (otherwise impossible while libzmq sends its connect notification first). Served at the lowest level; the
      // route is kept so that an empty frame from it later is never mistaken for a new connection, and checked.
      if (isTemporaryRoute(route))
        this.log.debug("Message on a renamed connection's route; serving it as unattributed");
      else this.log.warn("Message on a route without a connect notification; serving it as unattributed");
      conn = this.table.open(route, UNATTRIBUTED, [], clock);
      this.suspect(conn);
    }
    conn.lastRead = clock;
    if (conn.held !== undefined) {
      if (conn.held.length < HELD_MAX) {
        conn.held.push(frames);
        return undefined;
      }
      this.log.warn(`${HELD_MAX} messages held on a connection not identified yet; serving them unattributed`);
      this.release(conn);
    }
    return conn;
  }

  /** GateHost: serves the messages held for a connection while its identity was provisional. */
  release(conn: Conn): void {
    const held = conn.held;
    if (held === undefined) return;
    conn.held = undefined;
    if (this.closed) return;
    for (const frames of held) {
      try {
        this.serveHeld?.(conn, frames);
      } catch (err) {
        this.internalError(err);
      }
    }
  }

  /** Runs the checks that wait for the socket to drain; call only when no received message is unprocessed. */
  afterReceive(): void {
    if (this.gate?.wantsDrain || this.table.hasDying) this.checkDrain();
  }

  /** Connections authenticated with `pubkeyHex`, most recent last. */
  connsWithKey(pubkeyHex: string): ReadonlySet<Conn> | undefined {
    return this.table.withKey(pubkeyHex);
  }

  /**
   * Sends `[route, ...frames]` to a connection: a ConnectionID from a message (only while its route is still held
   * by that connection, or by another connection of the same proven key) or a Conn. Held while a handshake is
   * unresolved. A vanished route (EHOSTUNREACH) marks the connection dead before `done` runs.
   */
  sendTo(to: ConnectionID | Conn, frames: Frame[], onError?: (err: OmqError) => void): void {
    if (this.held.length || this.gate?.holding) {
      this.held.push({ to, frames, onError });
      return;
    }
    this.deliver(to, frames, onError);
  }

  /** The connection a send to `to` goes to now (a request is tied to it); undefined on the inproc listener. */
  connFor(to: ConnectionID | Conn): Conn | undefined {
    return this.gate ? this.resolve(to) : undefined;
  }

  close(linger: number): void {
    if (this.closed) return;
    // What waits for the end of this turn goes out first, within the linger.
    for (const conn of this.table.values()) conn.coalescer?.flush();
    this.closed = true;
    this.gate?.shutdown();
    clearTimeout(this.sweepTimer);
    const closed = new OmqError("CLOSED", `listener ${this.bindAddress} is closed`);
    for (const h of this.held.splice(0)) h.onError?.(closed);
    this.wake?.socket.close();
    closeObserved(this.socket, linger, this.observer, this.watching);
  }

  /** Resolves when the event watcher has stopped (after close). */
  stopped(): Promise<void> {
    return this.watching ?? Promise.resolve();
  }

  private onEmpty(route: Buffer, conn: Conn | undefined): void {
    const clock = this.clock;
    const gate = this.gate;
    if (!gate) return;
    const cand = gate.candidate();
    this.log.trace(() => `empty frame: route ${conn ? `known (serial ${conn.serial})` : "new"}, candidate ${!!cand}`);
    if (conn === undefined) {
      if (isTemporaryRoute(route)) {
        // A new pipe without a routing id, or a renamed pipe's disconnect notification (or forgery): which one shows
        // only once the handshake settles, so its messages wait, and at worst it stays unattributed.
        const c = this.table.open(route, UNATTRIBUTED, [], clock);
        if (cand) {
          c.held = [];
          gate.provisional(c);
        } else {
          this.log.debug("Empty frame on a new temporary route with no approved handshake outstanding");
          this.suspect(c);
        }
        return;
      }
      // A route the table does not know: libzmq's connect notification of a new pipe (no live pipe is unknown).
      if (cand) {
        this.table.open(route, cand.identity, cand.sessions, clock);
        gate.matched();
      } else {
        this.log.warn("Connect notification with no approved handshake outstanding; the connection is unattributed");
        this.table.open(route, UNATTRIBUTED, [], clock);
      }
      return;
    }
    conn.lastRead = clock;
    if (cand) {
      // The holder's disconnect, its forgery, or the outstanding handshake taking the route over: until the gate
      // knows which, the route is served as the meet of both.
      const merged = this.table.open(
        route,
        meet(conn.identity, cand.identity),
        [...conn.sessions, ...cand.sessions],
        clock,
      );
      merged.held = conn.held;
      conn.held = undefined;
      gate.ambiguous(merged, conn);
      return;
    }
    // No handshake outstanding: the holder's disconnect notification, or a forgery; find out which.
    this.log.debug(() => `Empty frame on a known route (serial ${conn.serial}): checking whether it closed`);
    this.suspect(conn);
  }

  /**
   * Checks whether a connection has closed: its handshake sessions are asked for (silently, through our ZAP
   * socket) a few times over two seconds; once none exists the route is dead. A connection found alive (a peer that
   * imitated a notification) is not checked again for a cooldown that doubles each time.
   */
  suspect(conn: Conn): void {
    if (this.closed || conn.dead || conn.probing) return;
    const wait = conn.probeCooldownUntil - Date.now();
    if (wait > 0) {
      // A forging peer's checks are spaced out, but a check asked for now (perhaps its real disconnect) still runs.
      conn.recheck ??= setTimeout(() => {
        conn.recheck = undefined;
        this.suspect(conn);
      }, wait);
      conn.recheck.unref();
      return;
    }
    conn.probing = true;
    const step = async (i: number): Promise<void> => {
      if (this.closed || conn.dead) return;
      if (!(await this.isAlive(conn))) {
        conn.probing = false;
        this.table.markDead(conn, this.clock);
        this.wantDrain();
        return;
      }
      if (i + 1 < PROBE_DELAYS.length) {
        setTimeout(() => this.spawn(step(i + 1)), PROBE_DELAYS[i + 1]! - PROBE_DELAYS[i]!).unref();
        return;
      }
      conn.probing = false;
      conn.probeCooldown = Math.min(PROBE_COOLDOWN_MAX, Math.max(PROBE_COOLDOWN_MIN, conn.probeCooldown * 2));
      conn.probeCooldownUntil = Date.now() + conn.probeCooldown;
    };
    setTimeout(() => this.spawn(step(0)), PROBE_DELAYS[0]).unref();
  }

  /** Runs an asynchronous step whose failure can only be a bug: logged, never an unhandled rejection. */
  private spawn(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.internalError(err));
  }

  private internalError(err: unknown): void {
    this.log.error(`listener ${this.bindAddress}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
  }

  private async isAlive(conn: Conn): Promise<boolean> {
    const zap = this.zap;
    if (!zap) return true;
    if (conn.sessions.length === 0) {
      // No handshake to ask (an unattributed route): ask the route itself with a frame OxenMQ peers ignore.
      return new Promise((resolve) =>
        this.outbox.push([conn.route, "UNKNOWNCOMMAND"], (err) => resolve(err?.code !== "HOST_UNREACHABLE")),
      );
    }
    for (const s of conn.sessions) if (await zap.alive(s)) return true;
    return false;
  }

  private deliver(to: ConnectionID | Conn, frames: Frame[], onError: ((err: OmqError) => void) | undefined): void {
    if (!this.gate) {
      // The inproc listener keeps no table: its routes are our own sockets.
      const route = to instanceof Conn ? to.route : Buffer.from(to.route);
      this.outbox.push([route, ...frames], onError && ((err) => err && onError(err)));
      return;
    }
    const conn = this.resolve(to);
    if (conn === undefined) {
      onError?.(new OmqError("HOST_UNREACHABLE", `${String(to)} is no longer connected to ${this.bindAddress}`));
      return;
    }
    const done = onError && ((err?: OmqError) => err && onError(err));
    if (conn.batchBytes || conn.coalescer?.busy) {
      (conn.coalescer ??= new Coalescer(this.linkOf(conn))).push(frames, done);
      return;
    }
    this.pushTo(conn, frames, done);
  }

  /**
   * A connection as its coalescer sends on it: resolved again at each send, since the route may have changed hands
   * by then (to another connection of the same key, which takes batches only if it said so itself).
   */
  private linkOf(conn: Conn): BatchLink {
    const gone = (): OmqError =>
      new OmqError("HOST_UNREACHABLE", `${conn.identity.remote} is no longer connected to ${this.bindAddress}`);
    const holding = (): boolean => !!this.gate?.holding;
    return {
      // While the gate holds sends, what waits is held one by one, like any other send (resolved at release).
      batchLimit: () => (holding() ? 0 : this.resolve(conn)?.batchBytes),
      sendNow: (frames, done) => {
        if (holding()) {
          this.held.push({ to: conn, frames, onError: done && ((err) => done(err)) });
          return;
        }
        const now = this.resolve(conn);
        if (now) this.pushTo(now, frames, done);
        else done?.(gone());
      },
      gone,
    };
  }

  private pushTo(conn: Conn, frames: Frame[], done: ((err?: OmqError) => void) | undefined): void {
    this.outbox.push([conn.route, ...frames], (err) => {
      if (!err) return;
      if (err.code === "HOST_UNREACHABLE") {
        this.table.markDead(conn, this.clock);
        this.wantDrain();
      }
      done?.(err);
    });
  }

  /**
   * The connection a send goes to: the same one, or one authenticated with the same key that holds the route now.
   * Never a connection of another key that took the route over.
   */
  private resolve(to: ConnectionID | Conn): Conn | undefined {
    const conn = this.table.get(to instanceof Conn ? to.key : to.routeKey);
    if (conn === undefined || conn.dead) return undefined;
    if (conn === to || conn.serial === to.serial) return conn;
    const hex = to instanceof Conn ? to.identity.pubkeyHex : to.pubkey.length === 32 ? toHex(to.pubkey) : "";
    return hex !== "" && conn.identity.pubkeyHex === hex ? conn : undefined;
  }

  /**
   * GateHost: sends are about to be held. What waits for the end of this turn goes out first, so that it keeps its
   * place ahead of what is held from now on (the approval has not left yet, so the routes are still the ones meant).
   */
  holding(): void {
    for (const conn of this.table.values()) conn.coalescer?.flush();
  }

  /** GateHost: sends may flow again. */
  released(): void {
    while (this.held.length && !this.gate?.holding) {
      const h = this.held.shift()!;
      this.deliver(h.to, h.frames, h.onError);
    }
  }

  /**
   * GateHost: a marker in libzmq's event stream for this socket. A bind that fails emits an event from this thread
   * into the same ordered stream as the I/O threads' handshake events; a Unix socket path longer than the system
   * allows always fails, before anything is created. Returns the marker's id (part of the address in the event).
   */
  barrier(): string {
    const id = `oxenmq-marker-${randomBytes(12).toString("hex")}`;
    try {
      this.socket.bindSync(`ipc:///${id}-${"x".repeat(120)}`);
    } catch {
      // The expected failure: its bind:error event is the marker. But libzmq handled the socket's pending commands
      // in that call, which can consume the readiness signal of a message that just arrived (fact 6), and zeromq.js
      // re-checks readiness after a send but not after a bind: a send to a route that does not exist makes it look.
      this.outbox.push([this.nowhere, ""]);
      return id;
    }
    throw new Error("a marker bind unexpectedly succeeded");
  }

  /** GateHost: asks for a drain check; it runs in the receive loop, which the wake connection sets going. */
  wantDrain(): void {
    if (this.wakePending || this.closed || !this.wake) return;
    this.wakePending = true;
    this.wake.socket.send("w").catch(() => (this.wakePending = false));
  }

  private checkDrain(): void {
    if (this.closed || this.socket.closed) return;
    if (!this.gate?.wantsDrain && !this.table.hasDying) return;
    // Safe here: the loop has processed every message it read, and calls receive() (which checks again) next.
    const quiescent = !this.socket.readable;
    // More reads than a full round of libzmq's fair queue (one message per pipe per round) plus its command lag.
    const bound = this.table.size + this.drainMargin;
    this.gate?.onDrain(quiescent, this.clock, bound);
    this.table.sweepDead(quiescent, this.clock, bound);
  }

  /** Reads libzmq's socket events: handshake outcomes for the gate, disconnects for the stale-route sweep. */
  private async watch(): Promise<void> {
    const events = (this.observer = this.socket.events);
    for (;;) {
      let ev;
      try {
        ev = await events.receive();
      } catch {
        return;
      }
      this.log.trace(() => `socket event ${ev.type}`);
      switch (ev.type) {
        case "handshake":
          this.gate?.onHandshake(this.clock);
          break;
        case "bind:error":
          this.gate?.onMarker(ev.address);
          break;
        case "accept":
          this.accepts++;
          break;
        case "handshake:error:protocol":
        case "handshake:error:auth":
        case "handshake:error:other":
          this.gate?.onFailure();
          break;
        case "disconnect":
          this.disconnects++;
          this.gate?.onFailure();
          this.sweepStale();
          break;
        case "end":
          return;
        default:
          break;
      }
    }
  }

  /**
   * A route can outlive its connection without any empty frame to prompt a check: libzmq drops a disconnect
   * notification when the closing pipe is full, and a route checked while it could still have been either of two
   * handshakes stays until both are gone. When the table holds more connections than libzmq has open (accepted and
   * not yet disconnected, by its own events, which no peer can forge), the least recently active ones are checked,
   * each within its cooldown; the sweep repeats every two seconds while the excess lasts.
   */
  private sweepStale(): void {
    if (this.sweepTimer || this.closed) return;
    const excess = this.table.liveSize - (this.accepts - this.disconnects);
    if (excess <= 0) return;
    const idle = [...this.table.values()]
      .filter((c) => !c.dead && !c.probing && c.recheck === undefined)
      .sort((a, b) => a.lastRead - b.lastRead)
      .slice(0, excess);
    this.log.debug(
      () =>
        `Stale-route sweep: ${this.table.liveSize} routes, ${this.accepts - this.disconnects} open; checking ${idle.length}`,
    );
    for (const c of idle) this.suspect(c);
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweepStale();
    }, 2_000);
    this.sweepTimer.unref();
  }
}
