import { Context } from "zeromq";
import { Address } from "./address.js";
import type { AccessSpec } from "./auth.js";
import { CommandRegistry, type CategoryOptions, type CommandHandler, type CommandOptions } from "./commands.js";
import { ConnectionID } from "./connection-id.js";
import { toHex, toZ85 } from "./encoding.js";
import { OmqError } from "./errors.js";
import { generateKeyPair, keyBytes, sodiumReady, validateKeyPair, type KeyPair } from "./keys.js";
import { Listener, type ListenOptions } from "./listener.js";
import { consoleLogger, Log, type LogLevel } from "./log.js";
import type { ProtocolHost } from "./protocol.js";
import type { HandlerSender } from "./message.js";
import type { Outgoing } from "./outgoing.js";
import type { Conn } from "./routes.js";
import { PendingRequests } from "./requests.js";
import { unwrapStatus } from "./status.js";
import { Scheduler, type Work } from "./scheduler.js";
import { constantFrame, DEFAULT_TUNABLES, makeRouter, type Frame, type SocketTunables } from "./sockets.js";
import { ZapHandler } from "./zap.js";
import {
  checkOptions,
  checkSendOptions,
  DEFAULT_REQUEST_TIMEOUT,
  INPROC_CONNECT_TIMEOUT,
  REMOTE_CONNECT_TIMEOUT,
  type CloseOptions,
  type ConnectOptions,
  type OxenMQOptions,
  type RequestOptions,
  type SendOptions,
} from "./options.js";
import { Ingress } from "./ingress.js";
import { Connections } from "./connections.js";
import { ServiceNodes, type ConnectSNOptions } from "./service-nodes.js";
import type { Batch } from "./batch.js";
import { isRunInProxy, TaggedExecutor } from "./executor.js";
import { dispatchJob, runBatch } from "./jobs.js";
import { Timers, type TimerID, type TimerOptions } from "./timers.js";
import { WorkerPool, type WorkerJobSpec } from "./worker-pool.js";
import { nonNegativeMs } from "./validate.js";

export type { OxenMQOptions, SendOptions, RequestOptions, ConnectOptions, CloseOptions } from "./options.js";
export { DEFAULT_REQUEST_TIMEOUT, REMOTE_CONNECT_TIMEOUT, INPROC_CONNECT_TIMEOUT } from "./options.js";

const SELF_ADDRESS = "inproc://sn-self";

/**
 * The instance's life (docs/scheduling.md#shutdown-and-faults): after `close()` it is `draining` (no new commands
 * or requests; accepted work finishes and replies), then `closing` (sockets close with their linger), then `closed`.
 */
type State = "new" | "starting" | "running" | "draining" | "closing" | "closed";

const DEFAULT_CLOSE_TIMEOUT = 5_000;

interface PendingBind {
  readonly listener: Listener;
  readonly resolve: (endpoint: string) => void;
  readonly reject: (err: OmqError) => void;
}

/** Helper returned by `addCategory` to add commands to it. */
export interface CategoryHelper {
  addCommand(name: string, handler: CommandHandler): CategoryHelper;
  addRequestCommand(name: string, handler: CommandHandler, options?: CommandOptions): CategoryHelper;
}

/**
 * An OxenMQ node: listeners, outgoing connections, commands grouped in categories with access policies, requests,
 * and the scheduler. Wire-compatible with C++ OxenMQ 1.2.16.
 *
 * @example
 * const omq = await OxenMQ.create();
 * omq.addCategory("public", "none").addRequestCommand("hello", (m) => m.reply("hi"));
 * const endpoint = omq.listenCurve("tcp://127.0.0.1:0");
 * await omq.start();
 */
export class OxenMQ {
  private readonly logger: Log;
  private readonly context: Context;
  private readonly tunables: SocketTunables;
  private readonly registry = new CommandRegistry();
  private readonly scheduler: Scheduler;
  private readonly requests: PendingRequests;
  private readonly zap: ZapHandler;
  private readonly listeners: Listener[] = [];
  private readonly listenersById = new Map<number, Listener>();
  private readonly connections: Connections;
  private readonly sn: ServiceNodes;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly pendingBinds: PendingBind[] = [];
  private readonly protocol: ProtocolHost;
  private readonly z85: { publicKey: string; secretKey: string };
  private readonly closeLinger: number;
  private readonly ownHex: string;
  private state: State = "new";
  private nextConnId = 1;
  private selfListener: Listener | undefined;
  private readonly ingress: Ingress;
  private readonly tagged: TaggedExecutor[] = [];
  private readonly timers: Timers;
  private pool: WorkerPool | undefined;
  private closed: Promise<void> | undefined;
  /** Replies promised by handlers (`later()`) and not yet given: close() waits for them. */
  private owedReplies = 0;
  private replyWaiters: Array<() => void> = [];

  /** Creates an instance (it is not started). Generates a key pair unless one is given; validates a given one. */
  static async create(options: OxenMQOptions = {}): Promise<OxenMQ> {
    checkOptions(options);
    await sodiumReady();
    const { publicKey, secretKey } = options;
    let keys: KeyPair;
    if (publicKey === undefined && secretKey === undefined) {
      if (options.serviceNode) throw new OmqError("INVALID_KEY", "service-node mode requires a key pair");
      keys = await generateKeyPair();
    } else {
      if (publicKey === undefined || secretKey === undefined)
        throw new OmqError("INVALID_KEY", "give both publicKey and secretKey, or neither");
      keyBytes(publicKey, "publicKey");
      keyBytes(secretKey, "secretKey");
      await validateKeyPair(publicKey, secretKey);
      keys = { publicKey: Uint8Array.from(publicKey), secretKey: Uint8Array.from(secretKey) };
    }
    return new OxenMQ(keys, options);
  }

  private constructor(
    private readonly keys: KeyPair,
    private readonly options: OxenMQOptions,
  ) {
    // A level without a logger means "log this much": to the console.
    this.logger = new Log(options.logger ?? (options.logLevel ? consoleLogger : undefined), options.logLevel ?? "warn");
    this.tunables = { ...DEFAULT_TUNABLES, ...definedOnly(options) };
    const maxSockets = options.maxSockets ?? 10_000;
    this.context = new Context(maxSockets > 0 ? { maxSockets } : {});
    this.scheduler = new Scheduler(options, this.logger);
    this.requests = new PendingRequests((reject) => this.scheduler.submitJob("batch", reject));
    this.closeLinger = options.closeLinger ?? 5_000;
    this.ownHex = toHex(keys.publicKey);
    this.z85 = { publicKey: toZ85(keys.publicKey), secretKey: toZ85(keys.secretKey) };
    this.zap = new ZapHandler(this.context, this.logger, (domain) => {
      const m = /^i(\d+)e$/.exec(domain);
      return m ? this.listeners[Number(m[1])]?.zapDomain : undefined;
    });
    this.protocol = {
      sender: this.handlerSender(),
      registry: this.registry,
      scheduler: this.scheduler,
      requests: this.requests,
      log: this.logger,
      serviceNode: options.serviceNode ?? false,
      closeOutgoing: (o, linger) => this.connections.close(o, linger),
      closing: () => this.state !== "running",
    };
    this.nextConnId = 2; // id 1 is the built-in inproc listener, as in C++
    this.ingress = new Ingress({
      protocol: this.protocol,
      keys,
      ownHex: this.ownHex,
      log: this.logger,
      isActiveSN: (hex) => this.sn.isActive(hex),
      running: () => this.state === "running" || this.state === "draining",
    });
    this.connections = new Connections({
      context: this.context,
      tunables: this.tunables,
      keys,
      z85: this.z85,
      log: this.logger,
      scheduler: this.scheduler,
      closeLinger: this.closeLinger,
      nextId: () => this.nextConnId++,
      receive: (socket, o) => this.ingress.run(socket, (frames) => this.ingress.fromOutgoing(o, frames)),
      lost: (o, why) => this.connectionLost(o, `the connection to ${o.address} ${why}`),
    });
    this.sn = new ServiceNodes({
      outgoing: this.connections.byKey,
      listeners: this.listeners,
      log: this.logger,
      closeLinger: this.closeLinger,
      lookup: (pk) => options.snLookup?.(pk),
      open: (pk, address, idleExpiry) =>
        this.connections.open(this.nextConnId++, address, pk, "none", true, idleExpiry),
      close: (o, linger) => this.connections.close(o, linger),
    });
    this.timers = new Timers((executor, work) => dispatchJob(this.scheduler, executor, work), this.logger);
  }

  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }
  get secretKey(): Uint8Array {
    return this.keys.secretKey;
  }
  get serviceNode(): boolean {
    return this.protocol.serviceNode;
  }
  get logLevel(): LogLevel {
    return this.logger.level;
  }
  /** Changes the level at any time; setting one without a logger starts logging to the console. */
  set logLevel(level: LogLevel) {
    this.logger.level = level;
    this.logger.logger ??= consoleLogger;
  }
  /** Logs through the instance's logger (for code built on the runtime, such as generated handlers). */
  log(level: LogLevel, message: string): void {
    this.logger.log(level, message);
  }

  get started(): boolean {
    return this.state === "running";
  }

  /** Fails the requests that went out on a connection that is gone or unreachable now (unless they wait for it). */
  private connectionLost(via: Outgoing | Conn, why: string): void {
    const n = this.requests.failVia(via, (command) => new OmqError("DISCONNECTED", `request '${command}': ${why}`));
    if (n) this.logger.info(`${n} pending request(s) failed: ${why}`);
  }

  /** How handler code sends and replies (docs/scheduling.md#shutdown-and-faults). */
  private handlerSender(): HandlerSender {
    return {
      send: (to, command, data, options, what) => {
        if (this.state === "running" || this.state === "draining") {
          checkSendOptions(options);
          this.deliver(to, [constantFrame(command), ...data], options, undefined);
        } else this.logger.warn(`Dropping ${what} to ${to}: the instance is closed`);
      },
      request: (to, command, data, options) => this.makeRequest(to, command, data, options, true),
      replyOwed: () => void this.owedReplies++,
      replyGiven: () => {
        if (--this.owedReplies === 0) for (const w of this.replyWaiters.splice(0)) w();
      },
    };
  }

  /**
   * Connection counts: `incoming` open connections on our listeners, `tracked` routes the listeners hold (incoming
   * plus closed ones whose last messages may still be unread), and `outgoing` connections we opened.
   */
  connectionStats(): { incoming: number; tracked: number; outgoing: number } {
    let incoming = 0;
    let tracked = 0;
    for (const l of this.listeners) {
      incoming += l.connections;
      tracked += l.table.size;
    }
    return { incoming, tracked, outgoing: this.connections.byId.size };
  }

  // ---- commands -------------------------------------------------------------------------------------------------

  addCategory(name: string, access?: AccessSpec, options?: CategoryOptions): CategoryHelper {
    this.requireNotStarted("addCategory");
    this.registry.addCategory(name, access, options);
    const helper: CategoryHelper = {
      addCommand: (cmd, handler) => (this.addCommand(name, cmd, handler), helper),
      addRequestCommand: (cmd, handler, options) => (this.addRequestCommand(name, cmd, handler, options), helper),
    };
    return helper;
  }

  addCommand(category: string, name: string, handler: CommandHandler): void {
    this.requireNotStarted("addCommand");
    this.registry.addCommand(category, name, handler, false);
  }

  /**
   * Adds a request command: its handler answers with `m.reply(...)`, now or later (`m.later()`). With
   * `statusFirst`, replies start with a status frame, and the runtime answers `503 shutting down` for the handler
   * when the instance closes before the request could run.
   */
  addRequestCommand(category: string, name: string, handler: CommandHandler, options?: CommandOptions): void {
    this.requireNotStarted("addRequestCommand");
    this.registry.addCommand(category, name, handler, true, options);
  }

  addCommandAlias(from: string, to: string): void {
    this.requireNotStarted("addCommandAlias");
    this.registry.addAlias(from, to);
  }

  // ---- listening ------------------------------------------------------------------------------------------------

  /** Listens with CURVE encryption; resolves with the bound endpoint (once started). */
  listenCurve(bind: string, options: ListenOptions = {}): Promise<string> {
    return this.listen("curve", bind, options);
  }

  /** Listens without encryption; each connection gets the level `allow(address, empty key, false)` returns. */
  listenPlain(bind: string, options: ListenOptions = {}): Promise<string> {
    return this.listen("plain", bind, options);
  }

  private listen(kind: "curve" | "plain", bind: string, options: ListenOptions): Promise<string> {
    if (bind.startsWith("inproc://"))
      throw new OmqError("INVALID_ARGUMENT", "inproc:// addresses cannot be used with listen; use connectInproc()");
    this.requireNotClosed();
    const index = this.listeners.length;
    const socket = makeRouter(this.context, this.tunables, {
      ...(kind === "curve" ? { curveKeys: this.z85 } : {}),
      zapDomain: `i${index}e`,
    });
    const listener = new Listener(this.nextConnId++, kind, bind, options, socket, this.logger, {
      context: this.context,
      zap: this.zap,
      isServiceNode: (hex) => this.sn.isActive(hex),
      connLost: (conn) => this.connectionLost(conn, `the incoming connection ${String(conn.identity.remote)} closed`),
      release: (conn, frames) => this.ingress.fromConn(listener, conn, frames),
    });
    this.listeners.push(listener);
    const result = new Promise<string>((resolve, reject) => {
      if (this.state === "new" || this.state === "starting") this.pendingBinds.push({ listener, resolve, reject });
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
    this.ingress.run(
      l.socket,
      (frames) => this.ingress.fromListener(l, frames),
      () => l.afterReceive(),
    );
    this.logger.info(`Listening on ${l.endpoint} (${l.kind})`);
    return l.endpoint;
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Starts the instance: binds queued listeners (rejecting if one fails) and begins processing. */
  async start(): Promise<void> {
    if (this.closed) throw new OmqError("CLOSED", "start: the instance is closed; create a new OxenMQ to start again");
    if (this.state !== "new") throw new OmqError("ALREADY_STARTED", "Cannot call start multiple times!");
    this.state = "starting";
    this.scheduler.configure(this.registry.categories.values());
    await this.zap.start();
    const selfSocket = makeRouter(this.context, this.tunables, {});
    this.selfListener = new Listener(1, "self", SELF_ADDRESS, { level: "admin" }, selfSocket, this.logger);
    await selfSocket.bind(SELF_ADDRESS);
    this.listenersById.set(1, this.selfListener);
    this.ingress.run(selfSocket, (frames) => this.ingress.fromListener(this.selfListener!, frames));

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
    // close() may have been called while we waited: it owns the shutdown then.
    if (this.closed) throw new OmqError("CLOSED", "start: the instance was closed while starting");
    if (failure) {
      await this.close({ timeout: 0 });
      throw failure;
    }
    this.state = "running";
    for (const t of this.tagged) if (t.onStart) this.scheduler.submitTagged(t, t.onStart);
    this.timers.start();
    this.idleTimer = setInterval(() => this.sn.expireIdle(), this.options.connCheckInterval ?? 250);
    this.idleTimer.unref();
  }

  /**
   * Shuts down (docs/scheduling.md#shutdown-and-faults). No new command or request is taken from then on: a
   * status-first request is answered `503 shutting down`, other commands are dropped with a log line. The
   * application's pending requests and connects fail with CLOSED (handlers' own requests only when the sockets
   * close). Running, queued and deferred handlers get up to `timeout` ms
   * (default 5000) to finish, and their replies are sent; what is still queued then is dropped (status-first requests
   * answered 503), and the sockets close with `closeLinger` so that what was sent is delivered. A reply attempted
   * after that is dropped with a log line, never thrown. Calling it again returns the same promise.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    nonNegativeMs(options.timeout, "close: timeout");
    this.closed ??= this.shutdown(options.timeout ?? DEFAULT_CLOSE_TIMEOUT);
    return this.closed;
  }

  /** `await using omq = await OxenMQ.create()`: closes with the default timeout when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(timeout: number): Promise<void> {
    const wasStarted = this.state !== "new";
    this.state = "draining";
    this.timers.stop();
    clearInterval(this.idleTimer);
    const closed = new OmqError("CLOSED", "the OxenMQ instance was closed");
    // The application's own requests end now; those of handlers that are finishing may still get their replies.
    this.requests.failAll(closed, true);
    this.connections.failPending(closed);
    for (const pb of this.pendingBinds.splice(0)) pb.reject(closed);
    if (wasStarted && !(await this.drained(timeout))) {
      const { running, queued } = this.scheduler.load;
      this.logger.warn(
        `close: after ${timeout} ms, ${running} handler(s) still running, ${queued} queued and ${this.owedReplies} ` +
          `deferred repl(ies) not given; queued work is dropped and later replies will not be sent`,
      );
    }
    this.state = "closing";
    this.requests.failAll(closed);
    this.scheduler.stop();
    this.connections.closeAll(this.closeLinger);
    for (const l of this.listeners) l.close(this.closeLinger);
    this.selfListener?.close(0);
    await this.zap.close();
    await Promise.allSettled(this.listeners.map((l) => l.stopped()));
    await this.pool?.close();
    await Promise.allSettled(this.ingress.loops);
    this.state = "closed";
  }

  /** Resolves true once no work holds or waits for a slot and no deferred reply is owed; false after `timeout` ms. */
  private async drained(timeout: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeout)));
    const settled = (async () => {
      for (;;) {
        await this.scheduler.idle();
        if (this.owedReplies === 0) return true;
        await new Promise<void>((r) => this.replyWaiters.push(r));
      }
    })();
    try {
      return await Promise.race([settled, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- connections ----------------------------------------------------------------------------------------------

  /**
   * Connects to a remote OxenMQ (any address form of docs/protocol.md#addresses; `curve://` for CURVE), sends HI and resolves
   * with the connection's id on HELLO. Fails with CONNECT_TIMEOUT ("connection attempt timed out") otherwise.
   */
  async connectRemote(address: string | Address, options: ConnectOptions = {}): Promise<ConnectionID> {
    this.requireStarted("connectRemote");
    nonNegativeMs(options.timeout, "connectRemote: timeout");
    const addr = typeof address === "string" ? new Address(address) : address;
    const key = addr.isCurve ? addr.pubkey : undefined;
    return this.connections.connectWithHello(
      addr.zmqAddress,
      key,
      options.authLevel ?? "none",
      options.timeout ?? REMOTE_CONNECT_TIMEOUT,
    );
  }

  /** Connects to this instance itself over inproc; commands arriving this way are treated as admin. */
  async connectInproc(options: ConnectOptions = {}): Promise<ConnectionID> {
    this.requireStarted("connectInproc");
    nonNegativeMs(options.timeout, "connectInproc: timeout");
    return this.connections.connectWithHello(
      SELF_ADDRESS,
      undefined,
      options.authLevel ?? "admin",
      options.timeout ?? INPROC_CONNECT_TIMEOUT,
    );
  }

  /** Closes an outgoing connection (a connectRemote id or a service node's key). Incoming ones cannot be closed. */
  disconnect(conn: ConnectionID, linger = 1_000): void {
    this.requireStarted("disconnect");
    nonNegativeMs(linger, "disconnect: linger");
    const o = conn.isSN ? this.connections.byKey.get(toHex(conn.pubkey)) : this.connections.byId.get(conn.id);
    if (!o || (!conn.isSN && conn.route.length)) {
      this.logger.warn(`disconnect: no outgoing connection for ${conn}`);
      return;
    }
    this.connections.close(o, linger);
  }

  // ---- service nodes --------------------------------------------------------------------------------------------

  /** Replaces the set of active service nodes' pubkeys (works before start). Removed nodes' outgoing connections close. */
  setActiveSNs(pubkeys: Iterable<Uint8Array>): void {
    this.sn.setActive(pubkeys);
  }

  /** Adds and removes active service nodes; a key in both lists stays (the add wins). */
  updateActiveSNs(added: Iterable<Uint8Array>, removed: Iterable<Uint8Array>): void {
    this.sn.update(added, removed);
  }

  /** Whether a pubkey is in the active service-node set. */
  isActiveSN(pubkey: Uint8Array): boolean {
    keyBytes(pubkey, "isActiveSN(pubkey)");
    return pubkey.length === 32 && this.sn.isActive(toHex(pubkey));
  }

  /**
   * Connects to a service node by public key (or reuses a connection to it) and returns its id, usable at once.
   * The address comes from `hint` or `snLookup`; with neither, an error is logged (as C++ does).
   */
  connectSN(pubkey: Uint8Array, options: ConnectSNOptions = {}): ConnectionID {
    this.requireStarted("connectSN");
    keyBytes(pubkey, "connectSN(pubkey)");
    const id = ConnectionID.sn(pubkey);
    this.sn.connect(pubkey, options);
    return id;
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /**
   * Sends `[command, ...data]` to a connection without waiting. Failures go to `queueFailure` / `queueFull`. Works
   * while `close()` lets handlers finish; throws CLOSED once the sockets are closing.
   */
  send(to: ConnectionID, command: string, data: Frame[] = [], options: SendOptions = {}): void {
    this.requireStarted("send", true);
    checkSendOptions(options);
    this.deliver(to, [constantFrame(command), ...data], options, undefined);
  }

  /**
   * Sends a request (`[command, tag, ...data]`) and resolves with the reply's data frames. Rejects with an
   * OmqError: TIMEOUT, ABORTED, CLOSED, a wire error word (FORBIDDEN, …), or a send failure; with `statusFirst` (for
   * typed commands), an RpcError for a reply whose status is not 200.
   */
  request(to: ConnectionID, command: string, data: Frame[] = [], options: RequestOptions = {}): Promise<Buffer[]> {
    return this.makeRequest(to, command, data, options, false);
  }

  /** A request by the application, or (`fromHandler`) by a handler, which close() lets finish while it drains. */
  private makeRequest(
    to: ConnectionID,
    command: string,
    data: Frame[],
    options: RequestOptions,
    fromHandler: boolean,
  ): Promise<Buffer[]> {
    let guard = this.stateError("request");
    if (!guard) {
      try {
        checkSendOptions(options);
      } catch (err) {
        guard = err as OmqError;
      }
    }
    if (guard) return Promise.reject(guard);
    const { signal } = options;
    if (signal?.aborted)
      return Promise.reject(new OmqError("ABORTED", `request '${command}' aborted`, { cause: signal.reason }));
    const down = this.downReason(to, options);
    if (down) return Promise.reject(new OmqError("DISCONNECTED", `request '${command}': ${down}`));
    const tag = PendingRequests.newTag();
    const reply = new Promise<Buffer[]>((resolve, reject) => {
      const timeout = options.timeout ?? DEFAULT_REQUEST_TIMEOUT;
      this.requests.add(tag, to.key, command, timeout, signal, resolve, reject, fromHandler);
      const track = !options.waitForReconnect;
      const via = this.deliver(
        to,
        [constantFrame(command), tag, ...data],
        options,
        (err) => this.requests.fail(tag.toString("latin1"), err),
        track,
      );
      if (via && track) this.requests.setVia(tag, via);
    });
    return options.statusFirst ? reply.then((frames) => unwrapStatus(frames, command)) : reply;
  }

  // ---- jobs, batches, timers, tagged executors ------------------------------------------------------------------

  /** Adds a named serial executor (before start); `onStart` runs on it when the instance starts. */
  addTaggedThread(name: string, onStart?: Work): TaggedExecutor {
    this.requireNotStarted("addTaggedThread");
    if (this.tagged.some((t) => t.name === name))
      throw new OmqError("INVALID_ARGUMENT", `tagged thread '${name}' already exists`);
    const t = new TaggedExecutor(this.tagged.length + 1, name, onStart);
    this.tagged.push(t);
    return t;
  }

  /** Runs `fn` as a batch job on the pool, or on a tagged executor. Exceptions are swallowed (logged at debug). */
  job(fn: Work, executor?: TaggedExecutor): void {
    this.requireStarted("job", true);
    if (isRunInProxy(executor)) throw new OmqError("INVALID_ARGUMENT", "job() cannot run in the proxy");
    dispatchJob(this.scheduler, executor, fn);
  }

  /** Submits a batch: its jobs run in parallel, then its completion gets the results in insertion order. */
  batch<T>(batch: Batch<T>): void {
    this.requireStarted("batch", true);
    runBatch(batch, this.scheduler, () => this.workerPool(), this.logger);
  }

  /** Runs a CPU-bound job on the worker_threads pool, holding a batch slot while it runs. */
  runInWorker(spec: WorkerJobSpec): Promise<unknown> {
    const guard = this.stateError("runInWorker", true);
    if (guard) return Promise.reject(guard);
    return new Promise((resolve, reject) => {
      this.scheduler.submitJob("batch", () => this.workerPool().run(spec).then(resolve, reject));
    });
  }

  /** Adds a periodic job (works before start; the first fire is one interval after start or adding). */
  addTimer(fn: Work, intervalMs: number, options?: TimerOptions): TimerID {
    if (typeof intervalMs !== "number" || !Number.isFinite(intervalMs) || intervalMs <= 0)
      throw new OmqError("INVALID_ARGUMENT", `addTimer: intervalMs must be a finite number > 0, got ${intervalMs}`);
    if (options?.executor && !isRunInProxy(options.executor) && !this.tagged.includes(options.executor))
      throw new OmqError("INVALID_ARGUMENT", "timer executor belongs to another instance");
    return this.timers.add(fn, intervalMs, options);
  }

  cancelTimer(id: TimerID): void {
    this.timers.cancel(id);
  }

  /**
   * Runs `fn` as if it were a command of `category`: it shares the category's reserved slots, queue and limit.
   * `command` and `remote` only label it in logs. Throws for an unknown category.
   */
  injectTask(category: string, command: string, remote: string, fn: Work): void {
    this.requireStarted("injectTask", true);
    const cat = this.registry.categories.get(category);
    if (!cat) throw new OmqError("INVALID_ARGUMENT", `injectTask: unknown category '${category}'`);
    this.scheduler.submitCommand(cat, fn, `injected task ${category}.${command} from ${remote}`);
  }

  private workerPool(): WorkerPool {
    return (this.pool ??= new WorkerPool(this.options.workerThreads ?? this.scheduler.general, this.logger));
  }

  /**
   * Routes frames to a connection. With `track` (a request), returns the connection they went out on (an Outgoing,
   * or an incoming Conn), which the request is tied to so that it fails when that connection is lost.
   */
  private deliver(
    to: ConnectionID,
    frames: Frame[],
    options: SendOptions,
    onError: ((err: OmqError) => void) | undefined,
    track = false,
  ): Outgoing | Conn | undefined {
    const failed = (err: OmqError): void => {
      onError?.(err);
      const { queueFailure, queueFull } = options;
      if (queueFailure) this.scheduler.submitJob("batch", () => queueFailure(err));
      else if (queueFull) this.scheduler.submitJob("batch", () => queueFull());
      else if (!onError) this.logger.warn(`Unable to send message to ${to}: ${err.message}`);
    };
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
    o.outbox.push(frames, (err) => err && failed(err));
    return o;
  }

  /**
   * Why a request to `to` would go out on a connection known to be down now, if it would; such a request fails with
   * DISCONNECTED before anything is sent (unless it waits for the reconnect).
   */
  private downReason(to: ConnectionID, options: RequestOptions): string | undefined {
    if (options.waitForReconnect) return undefined;
    const o = to.isSN
      ? options.incoming || (!options.outgoing && this.sn.hasIncoming(to))
        ? undefined
        : this.connections.byKey.get(toHex(to.pubkey))
      : to.route.length
        ? undefined
        : this.connections.byId.get(to.id);
    return o?.down && `the connection to ${o.address} ${o.down}`;
  }

  // ---- guards ---------------------------------------------------------------------------------------------------

  /** Why `what` cannot run now; with `whileDraining`, it may still run while close() lets work finish. */
  private stateError(what: string, whileDraining = false): OmqError | undefined {
    if (this.state === "running" || (whileDraining && this.state === "draining")) return undefined;
    if (this.closed) return new OmqError("CLOSED", `${what}: the instance is closed`);
    return new OmqError("NOT_STARTED", `${what} requires start() first`);
  }

  private requireStarted(what: string, whileDraining = false): void {
    const err = this.stateError(what, whileDraining);
    if (err) throw err;
  }

  private requireNotStarted(what: string): void {
    if (this.state !== "new") throw new OmqError("ALREADY_STARTED", `${what} must be called before start()`);
  }

  private requireNotClosed(): void {
    if (this.closed) throw new OmqError("CLOSED", "the instance is closed");
  }
}

function definedOnly(o: object): Partial<SocketTunables> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k in DEFAULT_TUNABLES));
}
