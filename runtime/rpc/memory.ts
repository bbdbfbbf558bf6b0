import type { AccessSpec, AuthLevel } from "../auth/access.js";
import { keyBytes } from "../auth/keys.js";
import { toHex } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import { consoleLogger, Log, type Logger, type LogLevel } from "../base/log.js";
import { nonNegativeMs } from "../base/validate.js";
import { Scheduler, type SchedulerOptions } from "../dispatch/scheduler.js";
import { ConnectionID } from "../net/connection-id.js";
import type { RouteOptions } from "../net/service-nodes.js";
import type { Frame } from "../wire/frames.js";
import type { CategoryOptions } from "./commands.js";
import { RpcEndpoint, type Router } from "./endpoint.js";
import { Lifecycle } from "./lifecycle.js";
import type { RequestOptions, SendOptions } from "./options.js";
import { handleMessage, type Peer } from "./protocol.js";
import type { CategoryHelper, Transport } from "./transport.js";

export interface InMemoryOptions extends SchedulerOptions {
  /** Service-node mode of the serving side: enables `localSN` categories. Default false. */
  readonly serviceNode?: boolean;
  readonly logger?: Logger;
  readonly logLevel?: LogLevel;
}

/** Who calls, as the handlers see it: what a listener and the service-node set would have proven about the caller. */
export interface Caller {
  /** The caller's public key (32 bytes), or none. Default none. */
  readonly pubkey?: Uint8Array;
  /** The auth level the caller's connection has. Default "none". */
  readonly auth?: AuthLevel;
  /**
   * The caller is an active service node (needs a `pubkey`): taken as given, there is no active set here. Handlers
   * then see its connection by key. Default false.
   */
  readonly serviceNode?: boolean;
  /** The caller's address as handlers see it. Default "(memory)". */
  readonly remote?: string;
}

/** Connection id of the serving side's (imaginary) listener; callers' connections count from 2. */
const LISTENER_ID = 1;

/** One caller's connection: both of its ends, and whether it is open. */
class Link {
  open = true;
  constructor(
    /** The caller's end: what `connect()` returned, what requests go to. */
    readonly client: ConnectionID,
    /** The serving end: the connection handlers see (`msg.conn`, `ctx.conn`). */
    readonly server: ConnectionID,
    /** The caller as handlers see it. */
    readonly toServer: Peer,
    /** The serving side as the caller sees it (replies, and commands handlers send back). */
    readonly toClient: Peer,
  ) {}
}

/**
 * A transport without sockets (the `@oxenmq-ts/runtime/testing` entry): the handlers registered on it, typed
 * (`registerXxx(transport, …)`) or not, serve the clients made on it (`new XxxClient(transport, transport.connect(…))`),
 * with the same semantics as over ZeroMQ, since the same code runs: access checks against a caller identity you
 * choose, error words, status-first errors, argument and result validation, deferred replies, the scheduler's slots
 * and queues, timeouts, and close() draining. Only the sockets are missing: messages are handed over as copies, one
 * event-loop turn later.
 *
 * @example
 * const t = new InMemoryTransport();
 * registerShop(t, handlers);
 * await t.start();
 * const shop = new ShopClient(t, t.connect({ auth: "basic" }));
 * await shop.item({ sku: "tea" });
 */
export class InMemoryTransport implements Transport {
  private readonly life = new Lifecycle();
  private readonly log: Log;
  private readonly scheduler: Scheduler;
  private readonly rpc: RpcEndpoint;
  private readonly byClient = new Map<number, Link>();
  private readonly byServer = new Map<string, Link>();
  private readonly bySN = new Map<string, Link>();
  private nextId = LISTENER_ID + 1;
  private queue: Array<() => void> = [];
  private flushing = false;

  constructor(options: InMemoryOptions = {}) {
    this.log = new Log(options.logger ?? (options.logLevel ? consoleLogger : undefined), options.logLevel ?? "warn");
    this.scheduler = new Scheduler(options, this.log);
    const router: Router = {
      deliver: (to, frames, _options: RouteOptions, failed, track) => this.deliver(to, frames, failed, track),
      downReason: (to) => (this.linkOf(to)?.open === false ? "the in-memory connection was closed" : undefined),
      closeOutgoing: () => {},
    };
    this.rpc = new RpcEndpoint({
      scheduler: this.scheduler,
      log: this.log,
      life: this.life,
      router,
      serviceNode: options.serviceNode ?? false,
    });
  }

  // ---- Transport ------------------------------------------------------------------------------------------------

  addCategory(name: string, access?: AccessSpec, options?: CategoryOptions): CategoryHelper {
    return this.rpc.addCategory(name, access, options);
  }
  addCommandAlias(from: string, to: string): void {
    this.rpc.addCommandAlias(from, to);
  }
  send(to: ConnectionID, command: string, data?: Frame[], options?: SendOptions): void {
    this.rpc.send(to, command, data, options);
  }
  request(to: ConnectionID, command: string, data?: Frame[], options?: RequestOptions): Promise<Buffer[]> {
    return this.rpc.request(to, command, data, options);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Starts serving: categories and commands are fixed from now on. */
  async start(): Promise<void> {
    if (this.life.closed)
      throw new OmqError("CLOSED", "start: the transport is closed; create a new one to start again");
    if (this.life.state !== "new") throw new OmqError("ALREADY_STARTED", "Cannot call start multiple times!");
    this.scheduler.configure(this.rpc.registry.categories.values());
    this.life.state = "running";
    await Promise.resolve();
  }

  /** As `OxenMQ.close` (docs/scheduling.md#shutdown-and-faults): running and deferred handlers get `timeout` ms. */
  close(options: { timeout?: number } = {}): Promise<void> {
    nonNegativeMs(options.timeout, "close: timeout");
    const timeout = options.timeout ?? 5_000;
    return this.life.close((wasStarted) => this.shutdown(timeout, wasStarted));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(timeout: number, wasStarted: boolean): Promise<void> {
    const closed = new OmqError("CLOSED", "the transport was closed");
    await this.rpc.drain(closed, timeout, wasStarted);
    this.life.state = "closing";
    this.rpc.stop(closed);
    for (const link of this.byClient.values()) link.open = false;
    this.life.state = "closed";
  }

  // ---- callers --------------------------------------------------------------------------------------------------

  /** Opens a connection for a caller with the identity given; requests and commands to it reach the handlers. */
  connect(caller: Caller = {}): ConnectionID {
    this.life.requireStarted("connect");
    const pubkey = caller.pubkey ? Uint8Array.from(caller.pubkey) : new Uint8Array(0);
    if (caller.pubkey) keyBytes(caller.pubkey, "connect: pubkey");
    if (pubkey.length !== 0 && pubkey.length !== 32)
      throw new OmqError("INVALID_KEY", "connect: pubkey must be 32 bytes");
    const auth = caller.auth ?? "none";
    if (!(["none", "basic", "admin"] as const).includes(auth as "none"))
      throw new OmqError(
        "INVALID_ARGUMENT",
        `connect: auth must be none, basic or admin, got ${String(auth)} (a denied peer never gets a connection)`,
      );
    if (caller.serviceNode && pubkey.length !== 32)
      throw new OmqError("INVALID_ARGUMENT", "connect: a service-node caller needs its pubkey");
    const id = this.nextId++;
    const client = new ConnectionID(id);
    const route = Buffer.from(`m${id}`);
    const server = caller.serviceNode ? ConnectionID.sn(pubkey) : new ConnectionID(LISTENER_ID, pubkey, route);
    const ref: { link?: Link } = {};
    const toServer: Peer = {
      conn: server,
      auth,
      sn: caller.serviceNode ?? false,
      remote: caller.remote ?? "(memory)",
      onListener: true,
      outgoing: undefined,
      incoming: undefined,
      send: (frames) => this.handOver(ref.link!, frames, true), // back to the caller
    };
    const toClient: Peer = {
      conn: client,
      auth: "none",
      sn: false,
      remote: "(memory)",
      onListener: false,
      outgoing: undefined,
      incoming: undefined,
      send: (frames) => this.handOver(ref.link!, frames, false), // to the serving side
    };
    const link = (ref.link = new Link(client, server, toServer, toClient));
    this.byClient.set(id, link);
    this.byServer.set(server.key, link);
    if (caller.serviceNode) this.bySN.set(toHex(pubkey), link);
    return client;
  }

  /** Closes a caller's connection: its pending requests fail with DISCONNECTED, later sends fail. */
  disconnect(conn: ConnectionID): void {
    const link = this.linkOf(conn);
    if (!link?.open) return;
    link.open = false;
    this.rpc.connectionLost(link, "the in-memory connection was closed");
  }

  private linkOf(to: ConnectionID): Link | undefined {
    if (to.isSN) return this.bySN.get(toHex(to.pubkey));
    return to.route.length ? this.byServer.get(to.key) : this.byClient.get(to.id);
  }

  // ---- the hand-over ---------------------------------------------------------------------------------------------

  private deliver(
    to: ConnectionID,
    frames: Frame[],
    failed: (err: OmqError) => void,
    track: boolean,
  ): object | undefined {
    const link = this.linkOf(to);
    if (!link?.open) return void failed(new OmqError("SEND_FAILED", `no connection for ${to}`));
    this.handOver(link, frames, to.isSN || to.route.length > 0);
    return track ? link : undefined;
  }

  /** Queues `frames` for the other end of `link`: copied, as the wire would, and handled one turn later. */
  private handOver(link: Link, frames: Frame[], toClient: boolean): void {
    const copy = frames.map((f) => (typeof f === "string" ? Buffer.from(f) : Buffer.from(f)));
    this.queue.push(() => {
      if (!link.open || !this.life.sending) return;
      handleMessage(this.rpc.protocol, toClient ? link.toClient : link.toServer, copy);
    });
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    for (const run of this.queue.splice(0)) {
      try {
        run();
      } catch (err) {
        this.log.error(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }
}
