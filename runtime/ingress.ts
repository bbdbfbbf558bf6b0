import type { Dealer, Router } from "zeromq";
import { ConnectionID } from "./connection-id.js";
import type { KeyPair } from "./keys.js";
import type { Listener } from "./listener.js";
import type { Log } from "./log.js";
import type { Outgoing } from "./outgoing.js";
import type { Conn } from "./routes.js";
import { handleMessage, type Peer, type ProtocolHost } from "./protocol.js";

export interface IngressHost {
  readonly protocol: ProtocolHost;
  readonly keys: KeyPair;
  readonly ownHex: string;
  readonly log: Log;
  isActiveSN(pubkeyHex: string): boolean;
  /** Messages are only processed while the instance runs. */
  running(): boolean;
}

/**
 * The receiving side: one loop per socket, and for each message the `Peer` with what was proven about its sender
 * (docs/identity.md) before the protocol handles it.
 */
export class Ingress {
  readonly loops: Promise<void>[] = [];

  constructor(private readonly host: IngressHost) {}

  /**
   * Reads `socket` until it closes; a handler error is logged and never stops the loop. `afterEach` runs after each
   * message, before the next receive: the one moment when no message has been read from the socket unprocessed.
   */
  run(socket: Router | Dealer, onMessage: (frames: Buffer[]) => void, afterEach?: () => void): void {
    const { log } = this.host;
    // `receive()` directly rather than `for await`: zeromq.js's async iterator adds a promise and a result object per
    // message.
    const loop = (async () => {
      for (;;) {
        let frames: Buffer[];
        try {
          frames = await socket.receive();
        } catch (err) {
          if (!socket.closed) log.error(`receive loop stopped: ${String(err)}`);
          return;
        }
        try {
          onMessage(frames);
          afterEach?.();
        } catch (err) {
          log.error(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
        }
      }
    })();
    this.loops.push(loop);
  }

  /**
   * A message on one of our listeners: `[route, command, data…]`, or a `[route, ""]` connect/disconnect notification
   * (or a peer's imitation of one), which the listener consumes.
   */
  fromListener(l: Listener, frames: Buffer[]): void {
    const h = this.host;
    if (!h.running()) return;
    const route = frames[0]!;
    if (frames.length < 2) {
      h.log.warn("Dropping a message with only a route");
      return;
    }
    let peer: Peer;
    if (l.kind === "self") {
      const sn = h.isActiveSN(h.ownHex);
      peer = {
        conn: sn ? ConnectionID.sn(h.keys.publicKey) : new ConnectionID(l.connId, h.keys.publicKey, route),
        auth: "admin",
        sn,
        remote: "(unknown)",
        onListener: true,
        outgoing: undefined,
        send: (f) => l.sendTo(new ConnectionID(l.connId, undefined, route), f),
      };
    } else {
      const c = l.receive(frames);
      if (c !== undefined) this.fromConn(l, c, frames);
      return;
    }
    handleMessage(h.protocol, peer, frames.slice(1));
  }

  /**
   * A message `[route, command, data…]` on a curve or plain listener's connection `c`: read just now, or held while
   * its identity was provisional and released by the listener.
   */
  fromConn(l: Listener, c: Conn, frames: Buffer[]): void {
    const h = this.host;
    if (!h.running()) return;
    const id = c.identity;
    const sn = id.pubkeyHex !== "" && h.isActiveSN(id.pubkeyHex);
    const peer: Peer = {
      conn: sn ? ConnectionID.sn(id.pubkey) : new ConnectionID(l.connId, id.pubkey, c.route, c.serial),
      auth: id.level,
      sn,
      remote: id.remote,
      onListener: true,
      outgoing: undefined,
      send: (f) => l.sendTo(c, f),
    };
    handleMessage(h.protocol, peer, frames.slice(1));
  }

  /** A message on one of our outgoing connections: `[command, data…]`. */
  fromOutgoing(o: Outgoing, frames: Buffer[]): void {
    o.received++;
    if (!this.host.running()) return;
    const peer: Peer = {
      conn: o.isSN ? ConnectionID.sn(o.pubkey) : new ConnectionID(o.id, o.pubkey),
      auth: o.isSN ? "none" : o.authLevel,
      sn: o.isSN,
      remote: o.address,
      onListener: false,
      outgoing: o,
      send: (f) => o.outbox.push(f),
    };
    handleMessage(this.host.protocol, peer, frames);
  }
}
