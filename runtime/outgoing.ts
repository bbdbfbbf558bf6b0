import type { Dealer, Event } from "zeromq";
import type { AuthLevel } from "./auth.js";
import type { Log } from "./log.js";
import { Outbox } from "./sockets.js";

/** One outgoing DEALER connection: connect-remote, connect-inproc, or a connection to a service node. */
export class Outgoing {
  readonly outbox: Outbox;
  /** Set while a connect waits for HELLO. */
  onHello: (() => void) | undefined;
  /** libzmq's events for this socket (connects, handshake failures, disconnects), while someone listens. */
  onEvent: ((ev: Event) => void) | undefined;
  private watching = false;
  lastActivity = Date.now();

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

  /** Reads the socket's events until it closes (started by the owner right after connecting). */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    const events = this.socket.events;
    void (async () => {
      for (;;) {
        let ev: Event;
        try {
          ev = await events.receive();
        } catch {
          return;
        }
        if (ev.type === "end") return;
        this.onEvent?.(ev);
      }
    })();
  }

  close(linger: number): void {
    if (this.socket.closed) return;
    if (this.watching) this.socket.events.close();
    this.socket.linger = linger;
    this.socket.close();
  }
}
