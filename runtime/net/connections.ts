import type { Context, Dealer, Event } from "zeromq";
import type { AuthLevel } from "../auth/access.js";
import { ConnectionID } from "./connection-id.js";
import { toHex, toZ85 } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import type { KeyPair } from "../auth/keys.js";
import type { Log } from "../base/log.js";
import { Outgoing } from "./outgoing.js";
import { randomBytes } from "node:crypto";
import { makeDealer, type SocketTunables } from "./sockets.js";

export interface ConnectionsHost {
  readonly context: Context;
  readonly tunables: SocketTunables;
  readonly keys: KeyPair;
  readonly z85: { readonly publicKey: string; readonly secretKey: string };
  readonly log: Log;
  /** Runs a settled connect's continuation (the instance queues it as a reply job, as C++ does). */
  defer(fn: () => void): void;
  readonly closeLinger: number;
  /** What a connect sends first: HI, with the batch offer when coalescing (docs/protocol.md#coalescing). */
  readonly hi: readonly string[];
  nextId(): number;
  /** Starts reading the socket; every message goes to `onMessage(o, frames)`. */
  receive(socket: Dealer, o: Outgoing): void;
  /** The connection is not usable now (lost, refused, failed handshake) or was closed. */
  lost(o: Outgoing, why: string): void;
}

/**
 * Our outgoing DEALER connections: opening them, the HI/HELLO handshake with its timeout, and closing them. Each
 * socket has a random routing id, which libzmq presents again on every reconnect (so a listener keeps addressing us
 * by the same route); the server learns our key from the CURVE handshake itself (docs/identity.md). Service-node connections are also indexed by key in `byKey`.
 */
export class Connections {
  readonly byId = new Map<number, Outgoing>();
  readonly byKey = new Map<string, Outgoing>();
  private readonly pending = new Set<(err: OmqError) => void>();

  constructor(private readonly host: ConnectionsHost) {}

  /** Opens a connection, sends HI, and resolves with its id on HELLO (docs/protocol.md#connections). */
  connectWithHello(
    zmqAddress: string,
    serverKey: Uint8Array | undefined,
    authLevel: AuthLevel,
    timeout: number,
  ): Promise<ConnectionID> {
    const id = this.host.nextId();
    let o: Outgoing;
    try {
      o = this.open(id, zmqAddress, serverKey, authLevel, false, Infinity);
    } catch (err) {
      return Promise.reject(OmqError.fromZmq(err, "CONNECT_FAILED", "connect failed"));
    }
    return new Promise<ConnectionID>((resolve, reject) => {
      const fail = (err: OmqError): void => {
        clearTimeout(timer);
        this.pending.delete(fail);
        o.onHello = undefined;
        o.onEvent = undefined;
        this.close(o, this.host.closeLinger);
        this.host.log.info(`Connection to ${zmqAddress} failed: ${err.message}`);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new OmqError("CONNECT_TIMEOUT", `connection attempt to ${zmqAddress} timed out`)),
        timeout,
      );
      this.pending.add(fail);
      o.onEvent = connectFailures(zmqAddress, serverKey, fail);
      o.onHello = () => {
        clearTimeout(timer);
        this.pending.delete(fail);
        o.onEvent = undefined;
        this.host.defer(() => resolve(new ConnectionID(id, o.pubkey)));
      };
      // C++ OxenMQ ignores the frames after HI and answers a plain HELLO.
      o.sayHi(this.host.hi);
    });
  }

  /** Creates and connects a DEALER; throws if zmq refuses the address. */
  open(
    id: number,
    zmqAddress: string,
    serverKey: Uint8Array | undefined,
    authLevel: AuthLevel,
    isSN: boolean,
    idleExpiry: number,
  ): Outgoing {
    const curve = serverKey?.length === 32;
    const socket = makeDealer(this.host.context, this.host.tunables, {
      routingId: randomRoute(),
      ...(curve ? { curve: { serverKey: toZ85(serverKey), ...this.host.z85 } } : {}),
    });
    const pubkey = curve ? Uint8Array.from(serverKey) : new Uint8Array(0);
    const o = new Outgoing(id, socket, pubkey, authLevel, isSN, zmqAddress, this.host.log, idleExpiry);
    o.onLost = (why) => this.host.lost(o, why);
    // The event monitor must exist before the socket connects, or the first attempt's events are missed.
    if (!zmqAddress.startsWith("inproc://")) o.watch();
    try {
      socket.connect(zmqAddress);
    } catch (err) {
      o.close(0);
      throw err;
    }
    this.byId.set(id, o);
    if (isSN) this.byKey.set(toHex(pubkey), o);
    this.host.receive(socket, o);
    return o;
  }

  close(o: Outgoing, linger: number): void {
    this.byId.delete(o.id);
    const hex = toHex(o.pubkey);
    if (o.isSN && this.byKey.get(hex) === o) this.byKey.delete(hex);
    o.close(linger);
    this.host.lost(o, "was closed");
  }

  /** Fails every connect still waiting for HELLO (at shutdown). */
  failPending(err: OmqError): void {
    for (const fail of [...this.pending]) fail(err);
  }

  closeAll(linger: number): void {
    for (const o of [...this.byId.values()]) this.close(o, linger);
  }
}

/** A routing id for our outgoing sockets: 128 random bits, never starting with 0 (libzmq's own ids do). */
function randomRoute(): Buffer {
  return Buffer.concat([Buffer.from("r"), randomBytes(16)]);
}

/**
 * Handshake failures of a CURVE client before it concludes the server key is wrong. A plain server shows a mechanism
 * mismatch, but when it resets the connection before its greeting is read, the client sees the same failure as a
 * wrong key: three in a row happened under load (1 run in 20), so it takes five.
 */
const CURVE_FAILURES = 5;

/**
 * Reads libzmq's events while a connect waits for HELLO, and fails it as soon as they tell why it cannot succeed:
 * nothing accepts connections (a retry with no connection before it), the server refused us at its handshake (its
 * `allow()`), one side speaks CURVE and the other does not, or the server keeps dropping our CURVE handshake (it
 * cannot decrypt it: its key is not the one we were given).
 */
function connectFailures(
  address: string,
  serverKey: Uint8Array | undefined,
  fail: (err: OmqError) => void,
): (ev: Event) => void {
  const curve = serverKey?.length === 32;
  let connected = false;
  let dropped = 0;
  return (ev) => {
    switch (ev.type) {
      case "connect":
        connected = true;
        break;
      case "connect:retry":
        if (!connected) fail(new OmqError("CONNECT_REFUSED", `nothing accepts connections at ${address}`));
        connected = false;
        break;
      case "handshake:error:auth":
        fail(new OmqError("ACCESS_DENIED", `${address} refused the connection at its handshake (its allow() said no)`));
        break;
      case "handshake:error:protocol":
        fail(
          new OmqError(
            "PROTOCOL_MISMATCH",
            curve
              ? `${address} does not use CURVE: connect to it with tcp://HOST:PORT`
              : `${address} requires CURVE: connect with curve://HOST:PORT/SERVER_PUBKEY`,
          ),
        );
        break;
      case "handshake:error:other":
        if (!curve)
          fail(new OmqError("PROTOCOL_MISMATCH", `${address} dropped a plain handshake: it probably requires CURVE`));
        else if (++dropped >= CURVE_FAILURES)
          fail(
            new OmqError(
              "AUTH_FAILED",
              `${address} dropped our CURVE handshake ${dropped} times: its public key is probably not ${toHex(serverKey)}`,
            ),
          );
        break;
      default:
        break;
    }
  };
}
