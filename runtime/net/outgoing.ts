import type { Dealer, Event, Observer } from "zeromq";
import type { AuthLevel } from "../auth/access.js";
import { OmqError } from "../base/errors.js";
import type { Log } from "../base/log.js";
import { Coalescer, type BatchLink } from "../wire/batch.js";
import type { Frame } from "../wire/frames.js";
import { closeObserved, Outbox } from "./sockets.js";

/** One outgoing DEALER connection: connect-remote, connect-inproc, or a connection to a service node. */
export class Outgoing implements BatchLink {
  readonly outbox: Outbox;
  /**
   * The largest batch the server takes, if it answered our HI with the batch feature, else 0: messages ready in the
   * same turn go out as batches (docs/protocol.md#coalescing). 0 again once the connection is lost: a reconnected
   * server has not said so.
   */
  peerBatchBytes = 0;
  /** Disconnects libzmq reported so far, and their number when HI went out. */
  private disconnects = 0;
  private disconnectsAtHi = 0;
  private coalescer: Coalescer | undefined;
  /** Set while a connect waits for HELLO. */
  onHello: (() => void) | undefined;
  /** libzmq's events for this socket (connects, handshake failures, disconnects), while someone listens. */
  onEvent: ((ev: Event) => void) | undefined;
  /** Told when an event shows the peer is not reachable now (lost, refused, or a failed handshake). */
  onLost: ((why: string) => void) | undefined;
  /** Why the peer is unreachable now (from a lost event until the next handshake), or undefined while it is not known to be. */
  down: string | undefined;
  private observer: Observer | undefined;
  private watching: Promise<void> | undefined;
  lastActivity = Date.now();
  /** Messages read from the socket so far. */
  received = 0;

  constructor(
    readonly id: number,
    readonly socket: Dealer,
    /** The server's key, proven by the CURVE handshake; empty for plain connections. */
    readonly pubkey: Uint8Array,
    /** The auth level given to commands the remote sends us over this connection. */
    readonly authLevel: AuthLevel,
    /** A connection made to a service node by key: messages on it come from an SN (docs/protocol.md#commands-and-access). */
    readonly isSN: boolean,
    readonly address: string,
    log: Log,
    /** Idle expiry in ms (service-node connections); Infinity for connect-remote. */
    public idleExpiry: number,
  ) {
    this.outbox = new Outbox(socket, log, `connection to ${address}`);
  }

  /**
   * Sends a message: at once as it is, or, while the server takes batches, together with the others that become ready
   * in this turn of the event loop (it never waits longer).
   */
  send(frames: Frame[], done?: (err?: OmqError) => void): void {
    if (this.peerBatchBytes || this.coalescer?.busy) (this.coalescer ??= new Coalescer(this)).push(frames, done);
    else this.outbox.push(frames, done);
  }

  /** HI goes out now (with our batch offer, if coalescing). */
  sayHi(hi: readonly string[]): void {
    this.disconnectsAtHi = this.disconnects;
    this.outbox.push([...hi]);
  }

  /**
   * The server's HELLO offered batches up to `limit` bytes (0: it did not). Taken only if the connection has not been
   * reported lost since HI went out: libzmq reports a disconnect and delivers the messages read before it through
   * different sockets, so a HELLO read after the report may come from a server that is gone, and the connection may
   * already lead to another one, which never saw our HI.
   */
  helloOffer(limit: number): void {
    if (this.disconnects === this.disconnectsAtHi) this.peerBatchBytes = limit;
  }

  /** libzmq reported the connection lost: a reconnected server has not offered batches. */
  disconnected(): void {
    this.disconnects++;
    this.peerBatchBytes = 0;
  }

  /** BatchLink */
  batchLimit(): number {
    return this.peerBatchBytes;
  }

  /** BatchLink */
  sendNow(frames: Frame[], done: ((err?: OmqError) => void) | undefined): void {
    this.outbox.push(frames, done);
  }

  /** BatchLink */
  gone(): OmqError {
    return new OmqError("CLOSED", `connection to ${this.address} is closed`);
  }

  /** Reads the socket's events until it closes (started by the owner right after connecting). */
  watch(): void {
    if (this.observer) return;
    const events = (this.observer = this.socket.events);
    this.watching = (async () => {
      for (;;) {
        let ev: Event;
        try {
          ev = await events.receive();
        } catch {
          return;
        }
        if (ev.type === "end") return;
        this.onEvent?.(ev);
        if (ev.type === "handshake") this.down = undefined;
        if (ev.type === "disconnect") this.disconnected();
        const why = lostReason(ev);
        if (why !== undefined) {
          this.down = why;
          this.afterQueued(() => this.onLost?.(why));
        }
      }
    })();
  }

  /**
   * Runs `fn` once the receive loop has read what the lost connection had already delivered: libzmq pushes a
   * connection's last messages (a reply, say) before it reports the disconnect, but the two reach us through different
   * sockets, so the event can come first. Waits until a turn of the event loop passes with nothing read (at most 100).
   */
  private afterQueued(fn: () => void): void {
    let seen = -1;
    let turns = 0;
    const step = (): void => {
      if (this.received !== seen && turns++ < 100) {
        seen = this.received;
        setImmediate(step);
        return;
      }
      fn();
    };
    step();
  }

  close(linger: number): void {
    // What waits for the end of this turn goes out first, within the linger.
    this.coalescer?.flush();
    closeObserved(this.socket, linger, this.observer, this.watching);
  }
}

/**
 * What an event says about a peer we cannot reach now. `connect:retry` comes after each failed attempt and right
 * after a disconnect (libzmq schedules the reconnect then).
 */
function lostReason(ev: Event): string | undefined {
  switch (ev.type) {
    case "disconnect":
      return "was lost";
    case "connect:retry":
      return "is down (reconnecting)";
    case "handshake:error:auth":
      return "was refused at the handshake";
    case "handshake:error:protocol":
    case "handshake:error:other":
      return "failed its handshake";
    default:
      return undefined;
  }
}
