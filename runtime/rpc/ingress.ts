import { ConnectionID } from "../net/connection-id.js";
import type { KeyPair } from "../auth/keys.js";
import type { Listener } from "../net/listener.js";
import type { Inbox } from "../net/network.js";
import type { Log } from "../base/log.js";
import type { Outgoing } from "../net/outgoing.js";
import type { Conn } from "../auth/routes.js";
import type { Lifecycle } from "./lifecycle.js";
import { handleMessage, type Peer, type ProtocolHost } from "./protocol.js";

export interface IngressHost {
  readonly protocol: ProtocolHost;
  readonly keys: KeyPair;
  readonly ownHex: string;
  readonly log: Log;
  /** The active service-node set. */
  readonly sn: { isActive(pubkeyHex: string): boolean };
  /** Messages are only processed while the instance runs. */
  readonly life: Pick<Lifecycle, "sending">;
}

/**
 * The receiving side: for each message from the network, the `Peer` with what was proven about its sender
 * (docs/identity.md), before the protocol handles it.
 */
export class Ingress implements Inbox {
  constructor(private readonly host: IngressHost) {}

  /**
   * A message on one of our listeners: `[route, command, data…]`, or a `[route, ""]` connect/disconnect notification
   * (or a peer's imitation of one), which the listener consumes.
   */
  fromListener(l: Listener, frames: Buffer[]): void {
    const h = this.host;
    if (!h.life.sending) return;
    const route = frames[0]!;
    if (frames.length < 2) {
      h.log.warn("Dropping a message with only a route");
      return;
    }
    let peer: Peer;
    if (l.kind === "self") {
      const sn = h.sn.isActive(h.ownHex);
      peer = {
        conn: sn ? ConnectionID.sn(h.keys.publicKey) : new ConnectionID(l.connId, h.keys.publicKey, route),
        auth: "admin",
        sn,
        remote: "(unknown)",
        onListener: true,
        outgoing: undefined,
        incoming: undefined,
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
    if (!h.life.sending) return;
    const id = c.identity;
    const sn = id.pubkeyHex !== "" && h.sn.isActive(id.pubkeyHex);
    const peer: Peer = {
      conn: sn ? ConnectionID.sn(id.pubkey) : new ConnectionID(l.connId, id.pubkey, c.route, c.serial),
      auth: id.level,
      sn,
      remote: id.remote,
      onListener: true,
      outgoing: undefined,
      incoming: c,
      send: (f) => l.sendTo(c, f),
    };
    handleMessage(h.protocol, peer, frames.slice(1));
  }

  /** A message on one of our outgoing connections: `[command, data…]`. */
  fromOutgoing(o: Outgoing, frames: Buffer[]): void {
    o.received++;
    if (!this.host.life.sending) return;
    const peer: Peer = {
      conn: o.isSN ? ConnectionID.sn(o.pubkey) : new ConnectionID(o.id, o.pubkey),
      auth: o.isSN ? "none" : o.authLevel,
      sn: o.isSN,
      remote: o.address,
      onListener: false,
      outgoing: o,
      incoming: undefined,
      send: (f) => o.send(f),
    };
    handleMessage(this.host.protocol, peer, frames);
  }
}
