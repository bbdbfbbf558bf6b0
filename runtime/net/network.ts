import { Context } from "zeromq";
import type { AuthLevel } from "../auth/access.js";
import type { KeyPair } from "../auth/keys.js";
import type { Conn } from "../auth/routes.js";
import { ZapHandler } from "../auth/zap.js";
import { toHex, toZ85 } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import type { Log } from "../base/log.js";
import type { Frame } from "../wire/frames.js";
import { batchOffer } from "../wire/batch.js";
import { ConnectionID } from "./connection-id.js";
import { Connections } from "./connections.js";
import { Listener, type ListenOptions } from "./listener.js";
import type { Outgoing } from "./outgoing.js";
import { receiveLoop } from "./receive.js";
import { ServiceNodes, type RouteOptions } from "./service-nodes.js";
import { DEFAULT_TUNABLES, makeRouter, type SocketTunables } from "./sockets.js";

/** The built-in listener that `connectInproc` reaches (connection id 1, as in C++). */
const SELF_ADDRESS = "inproc://sn-self";

/** A connection a message went out on: one of ours, or an incoming one (a route on a listener). */
export type Link = Outgoing | Conn;

/** Where received messages go: the RPC layer's ingress, which works out who sent each one. */
export interface Inbox {
  /** `[route, command, data…]` or a `[route, ""]` notification on a listener. */
  fromListener(l: Listener, frames: Buffer[]): void;
  /** A message of connection `c` that the listener held while its identity was provisional, released now. */
  fromConn(l: Listener, c: Conn, frames: Buffer[]): void;
  /** `[command, data…]` on one of our outgoing connections. */
  fromOutgoing(o: Outgoing, frames: Buffer[]): void;
}

export interface NetworkOptions {
  readonly keys: KeyPair;
  readonly tunables: Partial<SocketTunables>;
  /** Context socket limit; 0 leaves zmq's default. */
  readonly maxSockets: number;
  readonly closeLinger: number;
  /** Offer and accept batches with peers of this library (docs/protocol.md#coalescing). */
  readonly coalesce: boolean;
  readonly log: Log;
  readonly snLookup: (pubkey: Uint8Array) => string | undefined;
  /** A connection is lost or unreachable now: the requests that went out on it fail. */
  readonly lost: (link: Link, why: string) => void;
  /** Runs a connect's continuation (the instance queues it as a reply job, as C++ does). */
  readonly defer: (fn: () => void) => void;
}

interface PendingBind {
  readonly listener: Listener;
  readonly resolve: (endpoint: string) => void;
  readonly reject: (err: OmqError) => void;
}

/**
 * The instance's sockets (docs/protocol.md#connections): listeners with their identity gates and ZAP, outgoing
 * connections, service-node routing by key, and the receive loops that hand every message to the inbox. It knows
 * nothing of commands or requests.
 */
export class Network {
  private readonly context: Context;
  private readonly tunables: SocketTunables;
  private readonly zap: ZapHandler;
  private readonly z85: { publicKey: string; secretKey: string };
  private readonly listeners: Listener[] = [];
  private readonly listenersById = new Map<number, Listener>();
  private readonly pendingBinds: PendingBind[] = [];
  private readonly connections: Connections;
  readonly sn: ServiceNodes;
  private selfListener: Listener | undefined;
  private inbox: Inbox | undefined;
  private readonly loops: Promise<void>[] = [];
  /** The frames after HI and HELLO that offer batches (docs/protocol.md#coalescing); none when not coalescing. */
  readonly batchOffer: readonly string[];
  /** Id 1 is the built-in inproc listener, as in C++. */
  private nextConnId = 2;

  constructor(private readonly o: NetworkOptions) {
    const { keys, log } = o;
    this.tunables = { ...DEFAULT_TUNABLES, ...definedOnly(o.tunables) };
    this.batchOffer = o.coalesce ? batchOffer(this.tunables.maxMessageSize) : [];
    this.context = new Context(o.maxSockets > 0 ? { maxSockets: o.maxSockets } : {});
    this.z85 = { publicKey: toZ85(keys.publicKey), secretKey: toZ85(keys.secretKey) };
    this.zap = new ZapHandler(this.context, log, (domain) => {
      const m = /^i(\d+)e$/.exec(domain);
      return m ? this.listeners[Number(m[1])]?.zapDomain : undefined;
    });
    this.connections = new Connections({
      context: this.context,
      tunables: this.tunables,
      keys,
      z85: this.z85,
      log,
      defer: o.defer,
      closeLinger: o.closeLinger,
      hi: ["HI", ...this.batchOffer],
      nextId: () => this.nextConnId++,
      receive: (socket, out) => this.read(socket, (frames) => this.inbox?.fromOutgoing(out, frames)),
      lost: (out, why) => o.lost(out, `the connection to ${out.address} ${why}`),
    });
    this.sn = new ServiceNodes({
      outgoing: this.connections.byKey,
      listeners: this.listeners,
      log,
      closeLinger: o.closeLinger,
      lookup: o.snLookup,
      open: (pk, address, idleExpiry) =>
        this.connections.open(this.nextConnId++, address, pk, "none", true, idleExpiry),
      close: (out, linger) => this.connections.close(out, linger),
    });
  }

  /**
   * Connection counts: `incoming` open connections on our listeners, `tracked` routes the listeners hold (incoming
   * plus closed ones whose last messages may still be unread), and `outgoing` connections we opened.
   */
  stats(): { incoming: number; tracked: number; outgoing: number } {
    let incoming = 0;
    let tracked = 0;
    for (const l of this.listeners) {
      incoming += l.connections;
      tracked += l.table.size;
    }
    return { incoming, tracked, outgoing: this.connections.byId.size };
  }

  // ---- listeners ------------------------------------------------------------------------------------------------

  /** Adds a listener; it binds at `start()`, or now if the network has started. Resolves with the bound endpoint. */
  listen(kind: "curve" | "plain", bind: string, options: ListenOptions): Promise<string> {
    const index = this.listeners.length;
    const socket = makeRouter(this.context, this.tunables, {
      ...(kind === "curve" ? { curveKeys: this.z85 } : {}),
      zapDomain: `i${index}e`,
    });
    const listener: Listener = new Listener(this.nextConnId++, kind, bind, options, socket, this.o.log, {
      context: this.context,
      zap: this.zap,
      isServiceNode: (hex) => this.sn.isActive(hex),
      connLost: (conn) => this.o.lost(conn, `the incoming connection ${String(conn.identity.remote)} closed`),
      release: (conn, frames) => this.inbox?.fromConn(listener, conn, frames),
    });
    this.listeners.push(listener);
    const result = new Promise<string>((resolve, reject) => {
      if (!this.inbox) this.pendingBinds.push({ listener, resolve, reject });
      else this.bindListener(listener).then(resolve, reject);
    });
    result.catch(() => {}); // start() also reports a failed bind; an unawaited listen must not crash the process
    return result;
  }

  private async bindListener(l: Listener): Promise<string> {
    try {
      await l.bind();
    } catch (err) {
      l.close(0);
      throw OmqError.fromZmq(err, "BIND_FAILED", `unable to bind ${l.bindAddress}`);
    }
    this.listenersById.set(l.connId, l);
    this.read(
      l.socket,
      (frames) => this.inbox?.fromListener(l, frames),
      () => l.afterReceive(),
    );
    this.o.log.info(`Listening on ${l.endpoint} (${l.kind})`);
    return l.endpoint;
  }

  /**
   * Starts delivering to `inbox`: ZAP, the built-in inproc listener, then the listeners added so far. Every bind is
   * tried; resolves with the first failure, if any (each listener's own promise reports its own).
   */
  async start(inbox: Inbox): Promise<OmqError | undefined> {
    await this.zap.start();
    const selfSocket = makeRouter(this.context, this.tunables, {});
    const self = new Listener(1, "self", SELF_ADDRESS, { level: "admin" }, selfSocket, this.o.log);
    this.selfListener = self;
    await selfSocket.bind(SELF_ADDRESS);
    this.listenersById.set(1, self);
    this.inbox = inbox;
    this.read(selfSocket, (frames) => inbox.fromListener(self, frames));
    let failure: OmqError | undefined;
    for (const pb of this.pendingBinds.splice(0)) {
      try {
        pb.resolve(await this.bindListener(pb.listener));
      } catch (err) {
        const e = err as OmqError;
        failure ??= e;
        pb.reject(e);
      }
    }
    return failure;
  }

  private read(socket: Parameters<typeof receiveLoop>[0], onMessage: (f: Buffer[]) => void, after?: () => void): void {
    this.loops.push(receiveLoop(socket, this.o.log, onMessage, after));
  }

  // ---- outgoing connections -------------------------------------------------------------------------------------

  /** Connects to `zmqAddress` (CURVE with `serverKey`), sends HI and resolves with the connection's id on HELLO. */
  connect(
    zmqAddress: string,
    serverKey: Uint8Array | undefined,
    level: AuthLevel,
    timeout: number,
  ): Promise<ConnectionID> {
    return this.connections.connectWithHello(zmqAddress, serverKey, level, timeout);
  }

  /** Connects to this instance's built-in inproc listener. */
  connectSelf(level: AuthLevel, timeout: number): Promise<ConnectionID> {
    return this.connections.connectWithHello(SELF_ADDRESS, undefined, level, timeout);
  }

  /** Closes an outgoing connection; false if `conn` names none. */
  disconnect(conn: ConnectionID, linger: number): boolean {
    const o = conn.isSN ? this.connections.byKey.get(toHex(conn.pubkey)) : this.connections.byId.get(conn.id);
    if (!o || (!conn.isSN && conn.route.length)) return false;
    this.connections.close(o, linger);
    return true;
  }

  /** Closes an outgoing connection (a peer said BYE). */
  closeOutgoing(o: Outgoing, linger: number): void {
    this.connections.close(o, linger);
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /**
   * Sends frames to a connection; `failed` hears why they could not be. With `track` (a request), returns the
   * connection they went out on, so that the request can fail when that connection is lost.
   */
  deliver(
    to: ConnectionID,
    frames: Frame[],
    options: RouteOptions,
    failed: (err: OmqError) => void,
    track: boolean,
  ): Link | undefined {
    if (to.isSN) return this.sn.deliver(to, frames, options, failed);
    if (to.route.length) {
      const l = this.listenersById.get(to.id);
      if (!l) return void failed(new OmqError("SEND_FAILED", `no listener for ${to}`));
      const conn = track ? l.connFor(to) : undefined;
      l.sendTo(to, frames, failed);
      return conn;
    }
    const o = this.connections.byId.get(to.id);
    if (!o) return void failed(new OmqError("SEND_FAILED", `no connection for ${to}`));
    o.send(frames, (err) => err && failed(err));
    return o;
  }

  /** Why a message to `to` would go out on a connection that is down now, if it would. */
  downReason(to: ConnectionID, options: RouteOptions): string | undefined {
    const o = to.isSN
      ? options.incoming || (!options.outgoing && this.sn.hasIncoming(to))
        ? undefined
        : this.connections.byKey.get(toHex(to.pubkey))
      : to.route.length
        ? undefined
        : this.connections.byId.get(to.id);
    return o?.down && `the connection to ${o.address} ${o.down}`;
  }

  // ---- shutdown -------------------------------------------------------------------------------------------------

  /** Fails what waits on the network: connects waiting for HELLO, listeners not bound yet. */
  failPending(err: OmqError): void {
    this.connections.failPending(err);
    for (const pb of this.pendingBinds.splice(0)) pb.reject(err);
  }

  /** Closes every socket with `linger` and waits for the receive loops to end. */
  async close(linger: number): Promise<void> {
    this.connections.closeAll(linger);
    for (const l of this.listeners) l.close(linger);
    this.selfListener?.close(0);
    await this.zap.close();
    await Promise.allSettled(this.listeners.map((l) => l.stopped()));
  }

  /** Resolves when every receive loop has ended (after close). */
  async loopsEnded(): Promise<void> {
    await Promise.allSettled(this.loops);
  }
}

function definedOnly(o: object): Partial<SocketTunables> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k in DEFAULT_TUNABLES));
}
