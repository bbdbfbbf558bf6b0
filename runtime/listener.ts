import type { Router } from "zeromq";
import type { AuthLevel } from "./auth.js";
import { toHex } from "./encoding.js";
import type { Log } from "./log.js";
import { verifyProofRoute } from "./proof.js";
import { Outbox, type Frame } from "./sockets.js";
import type { OmqError } from "./errors.js";
import type { AllowFunc, ZapHandler } from "./zap.js";

export interface ListenOptions {
  /** Called once per incoming handshake; returning "denied" refuses the connection. Default: everyone at "none". */
  readonly allow?: AllowFunc;
  /**
   * CURVE listeners: the auth level of a route that proved no key (a C++ OxenMQ or raw zeromq client). Default "none".
   * Plain listeners: the auth level of every message on the listener (reference §4.2). Default "none".
   */
  readonly level?: AuthLevel;
}

/** What a listener knows about a route that proved a key. */
export interface RouteIdentity {
  readonly pubkey: Uint8Array;
  readonly pubkeyHex: string;
  readonly level: AuthLevel;
  readonly remote: string;
}

export type ListenerKind = "curve" | "plain" | "self";

/**
 * One bound ROUTER and the identities of its routes. On a CURVE listener a route is bound to a public key only
 * by a valid route proof claimed against a pending ZAP approval of that key (reference §4.1); every connect and
 * disconnect notification of the route clears what was known about it first.
 */
export class Listener {
  readonly outbox: Outbox;
  /** Open routes: the identity they proved, or null for an anonymous route. */
  private readonly routes = new Map<string, RouteIdentity | null>();
  /** Proven key (hex) → its open routes, for sending to a service node over its incoming connection. */
  readonly routesByKey = new Map<string, Set<string>>();
  endpoint = "";

  constructor(
    readonly connId: number,
    readonly kind: ListenerKind,
    readonly bindAddress: string,
    readonly options: ListenOptions,
    readonly socket: Router,
    private readonly log: Log,
  ) {
    this.outbox = new Outbox(socket, log, `listener ${bindAddress}`);
  }

  /** Level of messages from a route that proved nothing. */
  get anonymousLevel(): AuthLevel {
    return this.options.level ?? "none";
  }

  identity(route: Buffer): RouteIdentity | undefined {
    return this.routes.get(route.toString("latin1")) ?? undefined;
  }

  /**
   * A `[route, ""]` notification: the route's connection opened (route unknown) or closed (route known). A peer can
   * forge one on its own route only, which can only lose it its own identity.
   */
  onNotify(route: Buffer, zap: ZapHandler, secretKey: Uint8Array): void {
    const key = route.toString("latin1");
    if (this.routes.has(key)) {
      this.forget(key);
      return;
    }
    let identity: RouteIdentity | null = null;
    const pubkey = verifyProofRoute(route, secretKey);
    if (pubkey) {
      const pubkeyHex = toHex(pubkey);
      const approval = zap.claim(pubkeyHex);
      if (approval) {
        identity = { pubkey, pubkeyHex, level: approval.level, remote: approval.address };
        let set = this.routesByKey.get(pubkeyHex);
        if (!set) this.routesByKey.set(pubkeyHex, (set = new Set()));
        set.add(key);
      } else {
        this.log.warn(`Route proof for ${pubkeyHex} without a pending handshake of that key; treating it as anonymous`);
      }
    }
    this.routes.set(key, identity);
  }

  /** Sends `[route, ...frames]`; a route that has vanished (EHOSTUNREACH) is forgotten before `onError` runs. */
  sendTo(route: Uint8Array, frames: Frame[], onError?: (err: OmqError) => void): void {
    const buf = Buffer.isBuffer(route) ? route : Buffer.from(route.buffer, route.byteOffset, route.byteLength);
    this.outbox.push([buf, ...frames], (err) => {
      if (!err) return;
      if (err.code === "HOST_UNREACHABLE") this.forget(buf.toString("latin1"));
      onError?.(err);
    });
  }

  /** Drops a route, e.g. after a send to it failed with EHOSTUNREACH. */
  forget(key: string): void {
    const id = this.routes.get(key);
    this.routes.delete(key);
    if (id) {
      const set = this.routesByKey.get(id.pubkeyHex);
      set?.delete(key);
      if (set?.size === 0) this.routesByKey.delete(id.pubkeyHex);
    }
  }

  close(linger: number): void {
    if (this.socket.closed) return;
    this.socket.linger = linger;
    this.socket.close();
  }
}
