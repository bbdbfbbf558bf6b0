import { randomInt } from "node:crypto";
import { Dealer, Router, type Context, type Observer, type Socket } from "zeromq";
import type { Log } from "../base/log.js";
import { OmqError } from "../base/errors.js";
import type { Frame } from "../wire/frames.js";

/** Network tunables that become socket options (docs/protocol.md). Times in milliseconds. */
export interface SocketTunables {
  readonly handshakeTime: number;
  readonly maxMessageSize: number;
  readonly reconnectInterval: number;
  readonly reconnectIntervalMax: number;
  /**
   * Idle time before a TCP connection's liveness is probed; 0 turns probing off. C++ OxenMQ uses ZMTP heartbeats
   * for this; we use TCP keepalive, because libzmq 4.3.5 aborts the process when a heartbeat fires on a connection
   * whose input had stalled and whose peer then hung up (a connection that lost its route to a handover, for
   * instance), which any peer can bring about (libzmq issue #4841; docs/identity.md). C++ peers' heartbeats are
   * still answered.
   */
  readonly connHeartbeat: number;
  /** A connection whose peer has not answered liveness probes for this long (after the idle time) is dropped. */
  readonly connHeartbeatTimeout: number;
  readonly ipv6: boolean;
}

export const DEFAULT_TUNABLES: SocketTunables = {
  handshakeTime: 10_000,
  maxMessageSize: 1024 * 1024,
  reconnectInterval: 250,
  reconnectIntervalMax: 5_000,
  connHeartbeat: 15_000,
  connHeartbeatTimeout: 30_000,
  ipv6: false,
};

/** libzmq option numbers that zeromq.js does not expose with a typed property. */
const ZMQ_ROUTING_ID = 5;
const ZMQ_ROUTER_NOTIFY = 97;
const NOTIFY_CONNECT_AND_DISCONNECT = 3;

/** zeromq.js keeps its raw option setters protected; this is the one place that reaches them. */
interface RawOptions {
  setStringOption(option: number, value: string | Buffer | null): void;
  setInt32Option(option: number, value: number): void;
}
const raw = (s: Socket): RawOptions => s as unknown as RawOptions;

function commonOptions(t: SocketTunables) {
  return {
    handshakeInterval: t.handshakeTime,
    maxMessageSize: t.maxMessageSize,
    reconnectInterval: t.reconnectInterval,
    reconnectMaxInterval: t.reconnectIntervalMax,
    ipv6: t.ipv6,
    sendTimeout: 0,
    ...keepalive(t),
  };
}

/** TCP keepalive from the liveness tunables: probes start after `connHeartbeat`, and span `connHeartbeatTimeout`. */
function keepalive(t: SocketTunables): Record<string, number> {
  if (!(t.connHeartbeat > 0)) return {};
  const idle = Math.max(1, Math.round(t.connHeartbeat / 1000));
  const interval = Math.max(1, Math.round(idle / 3));
  const span = Math.max(interval, Math.round(Math.max(0, t.connHeartbeatTimeout - t.connHeartbeat) / 1000));
  return {
    tcpKeepalive: 1,
    tcpKeepaliveIdle: idle,
    tcpKeepaliveInterval: interval,
    tcpKeepaliveCount: Math.ceil(span / interval),
  };
}

export interface ListenerSocketSpec {
  readonly curveKeys?: { publicKey: string; secretKey: string };
  /** Set on network listeners: their handshakes go through ZAP, and their routes are tracked (docs/identity.md). */
  readonly zapDomain?: string;
}

/**
 * A listener ROUTER. `mandatory` makes sends to vanished routes fail with EHOSTUNREACH. Network listeners (those with
 * a ZAP domain) take over a route when a new connection presents a routing id in use (ROUTER_HANDOVER, as C++ OxenMQ
 * does) and get connect/disconnect notifications, which their handshake gate pairs with ZAP approvals.
 */
export function makeRouter(context: Context, t: SocketTunables, spec: ListenerSocketSpec): Router {
  const network = spec.zapDomain !== undefined;
  if (network) unpredictableRoutingIds(context);
  const r = new Router({
    context,
    ...commonOptions(t),
    mandatory: true,
    handover: network,
    ...(network ? { zapDomain: spec.zapDomain } : {}),
    ...(spec.curveKeys
      ? { curveServer: true, curvePublicKey: spec.curveKeys.publicKey, curveSecretKey: spec.curveKeys.secretKey }
      : {}),
  });
  if (network) raw(r).setInt32Option(ZMQ_ROUTER_NOTIFY, NOTIFY_CONNECT_AND_DISCONNECT);
  return r;
}

/** Sockets created and closed once per process to move libzmq's random sequence (each ROUTER draws twice). */
const RANDOM_SKIP_MAX = 8_192;
let randomSkipped = false;

/**
 * libzmq numbers the routes it makes up (for peers without a routing id, and for pipes renamed on handover) from a
 * counter that starts at a value drawn from C's `rand()`, which it never seeds: the same value in every process. A
 * peer that presents the counter's next value as its own routing id makes libzmq abort the process when the next
 * made-up route collides with it (docs/identity.md, fact 8). We cannot seed `rand()` from JavaScript, but every ROUTER
 * created draws from it, so before the first listener a random number (up to 8,192) of throwaway sockets moves the
 * sequence to a position a peer cannot know: ~13 bits to guess rather than none. About 70 ms once per process.
 */
function unpredictableRoutingIds(context: Context): void {
  if (randomSkipped) return;
  randomSkipped = true;
  for (let i = randomInt(RANDOM_SKIP_MAX); i > 0; i--) new Router({ context, linger: 0 }).close();
}

export interface DealerSpec {
  readonly routingId: Buffer;
  readonly curve?: { serverKey: string; publicKey: string; secretKey: string };
}

export function makeDealer(context: Context, t: SocketTunables, spec: DealerSpec): Dealer {
  const d = new Dealer({
    context,
    ...commonOptions(t),
    ...(spec.curve
      ? {
          curveServerKey: spec.curve.serverKey,
          curvePublicKey: spec.curve.publicKey,
          curveSecretKey: spec.curve.secretKey,
        }
      : {}),
  });
  raw(d).setStringOption(ZMQ_ROUTING_ID, spec.routingId);
  return d;
}

/** How long a closed socket's event observer may take to end by itself before it is closed. */
const OBSERVER_GRACE_MS = 1_000;

/**
 * Closes a socket with `linger`, then its event observer (whose reading loop is `watching`): once the loop has ended
 * by itself (libzmq reports the monitor stopped when it has finished the socket), or after a grace period, since a
 * connection stuck inside libzmq can delay that indefinitely. Never the observer first, nor at once: a socket whose
 * monitor is stopped while it closes often keeps its TCP connections open until the process exits
 * (docs/scheduling.md#shutdown-and-faults).
 */
export function closeObserved(
  socket: Router | Dealer,
  linger: number,
  observer: Observer | undefined,
  watching: Promise<void> | undefined,
): void {
  if (!socket.closed) {
    socket.linger = linger;
    socket.close();
  }
  if (!observer || observer.closed) return;
  const timer = setTimeout(() => observer.closed || observer.close(), OBSERVER_GRACE_MS);
  timer.unref();
  void watching?.finally(() => clearTimeout(timer));
}

interface OutItem {
  readonly frames: Frame[];
  readonly done: ((err?: OmqError) => void) | undefined;
}

/**
 * Sends on one socket. Our sockets use `sendTimeout: 0`, and zeromq.js then sends synchronously inside `send()`
 * (its fast path for a zero timeout): the returned promise is already settled and the socket is free for the next
 * send at once, so messages go out without waiting for each other. A full peer queue fails with EAGAIN (QUEUE_FULL),
 * a vanished route with EHOSTUNREACH. Should a send ever be left pending (EBUSY on the next one), sends queue up
 * behind it in order.
 */
export class Outbox {
  private readonly queue: OutItem[] = [];
  private pending: Promise<void> | undefined;

  constructor(
    private readonly socket: Dealer | Router,
    private readonly log: Log,
    private readonly what: string,
  ) {}

  push(frames: Frame[], done?: (err?: OmqError) => void): void {
    if (this.socket.closed) {
      done?.(new OmqError("CLOSED", `${this.what} is closed`));
      return;
    }
    if (this.pending !== undefined) this.queue.push({ frames, done });
    else this.send(frames, done);
  }

  private send(frames: Frame[], done: ((err?: OmqError) => void) | undefined): void {
    let sent: Promise<void>;
    try {
      sent = this.socket.send(frames);
    } catch (err) {
      if ((err as { code?: unknown }).code === "EBUSY") {
        this.queue.push({ frames, done });
        this.waitForSocket();
        return;
      }
      sent = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    sent.then(
      () => done?.(),
      (err: unknown) => this.failed(err, done),
    );
  }

  private failed(err: unknown, done: ((err?: OmqError) => void) | undefined): void {
    const e = OmqError.fromZmq(err, "SEND_FAILED", `send on ${this.what} failed`);
    this.log.debug(e.message);
    done?.(e);
  }

  /** The slow path: a send is in progress; the queue drains one awaited send at a time, then the fast path resumes. */
  private waitForSocket(): void {
    if (this.pending !== undefined) return;
    this.pending = (async () => {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        try {
          await this.socket.send(item.frames);
          item.done?.();
        } catch (err) {
          if ((err as { code?: unknown }).code === "EBUSY") {
            this.queue.unshift(item);
            await new Promise((r) => setImmediate(r));
          } else this.failed(err, item.done);
        }
      }
      this.pending = undefined;
    })();
  }
}
