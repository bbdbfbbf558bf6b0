import type { Dealer, Router } from "zeromq";
import type { AuthLevel } from "./auth.js";
import { ConnectionID } from "./connection-id.js";
import type { KeyPair } from "./keys.js";
import type { Listener } from "./listener.js";
import type { Log } from "./log.js";
import type { Outgoing } from "./outgoing.js";
import { handleMessage, type Peer, type ProtocolHost } from "./protocol.js";
import type { ZapHandler } from "./zap.js";

export interface IngressHost {
  readonly protocol: ProtocolHost;
  readonly zap: ZapHandler;
  readonly keys: KeyPair;
  readonly ownHex: string;
  readonly log: Log;
  isActiveSN(pubkeyHex: string): boolean;
  /** Messages are only processed while the instance runs. */
  running(): boolean;
}

/**
 * The receiving side: one loop per socket, and for each message the `Peer` with what was proven about its sender
 * (reference §1.10, §4.1) before the protocol handles it.
 */
export class Ingress {
  readonly loops: Promise<void>[] = [];

  constructor(private readonly host: IngressHost) {}

  /** Reads `socket` until it closes; a handler error is logged and never stops the loop. */
  run(socket: Router | Dealer, onMessage: (frames: Buffer[]) => void): void {
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
        } catch (err) {
          log.error(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
        }
      }
    })();
    this.loops.push(loop);
  }

  /** A message on one of our listeners: `[route, command, data…]`, or a `[route, ""]` connect/disconnect notification. */
  fromListener(l: Listener, frames: Buffer[]): void {
    const h = this.host;
    if (!h.running()) return;
    const route = frames[0]!;
    if (frames.length < 2) {
      h.log.warn("Dropping a message with only a route");
      return;
    }
    if (frames.length === 2 && frames[1]!.length === 0) {
      if (l.kind === "curve") l.onNotify(route, h.zap, h.keys.secretKey);
      return;
    }
    let conn: ConnectionID;
    let auth: AuthLevel;
    let sn: boolean;
    let remote = "(unknown)";
    if (l.kind === "self") {
      sn = h.isActiveSN(h.ownHex);
      conn = sn ? ConnectionID.sn(h.keys.publicKey) : new ConnectionID(l.connId, h.keys.publicKey, route);
      auth = "admin";
    } else {
      const id = l.kind === "curve" ? l.identity(route) : undefined;
      sn = id !== undefined && h.isActiveSN(id.pubkeyHex);
      conn =
        id === undefined
          ? new ConnectionID(l.connId, undefined, route)
          : sn
            ? ConnectionID.sn(id.pubkey)
            : new ConnectionID(l.connId, id.pubkey, route);
      auth = id?.level ?? l.anonymousLevel;
      if (id) remote = id.remote;
    }
    const peer: Peer = {
      conn,
      auth,
      sn,
      remote,
      onListener: true,
      outgoing: undefined,
      send: (f) => l.sendTo(route, f),
    };
    handleMessage(h.protocol, peer, frames.slice(1));
  }

  /** A message on one of our outgoing connections: `[command, data…]`. */
  fromOutgoing(o: Outgoing, frames: Buffer[]): void {
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
