import type { AccessSpec } from "./auth/access.js";
import { generateKeyPair, keyBytes, sodiumReady, validateKeyPair, type KeyPair } from "./auth/keys.js";
import { toHex } from "./base/encoding.js";
import { OmqError } from "./base/errors.js";
import { consoleLogger, Log, type LogLevel } from "./base/log.js";
import { nonNegativeMs } from "./base/validate.js";
import type { Batch } from "./dispatch/batch.js";
import { isRunInProxy, TaggedExecutor, type Work } from "./dispatch/executor.js";
import { dispatchJob, runBatch } from "./dispatch/jobs.js";
import { Scheduler } from "./dispatch/scheduler.js";
import { Timers, type TimerID, type TimerOptions } from "./dispatch/timers.js";
import { WorkerPool, type WorkerJobSpec } from "./dispatch/worker-pool.js";
import { Address } from "./net/address.js";
import { ConnectionID } from "./net/connection-id.js";
import type { ListenOptions } from "./net/listener.js";
import { Network } from "./net/network.js";
import type { ConnectSNOptions } from "./net/service-nodes.js";
import type { CategoryOptions, CommandHandler, CommandOptions } from "./rpc/commands.js";
import { RpcEndpoint } from "./rpc/endpoint.js";
import { Ingress } from "./rpc/ingress.js";
import { Lifecycle } from "./rpc/lifecycle.js";
import type { RequestOptions, SendOptions } from "./rpc/options.js";
import type { CategoryHelper, Transport } from "./rpc/transport.js";
import type { Frame } from "./wire/frames.js";
import {
  checkOptions,
  INPROC_CONNECT_TIMEOUT,
  REMOTE_CONNECT_TIMEOUT,
  type CloseOptions,
  type ConnectOptions,
  type OxenMQOptions,
} from "./options.js";

const DEFAULT_CLOSE_TIMEOUT = 5_000;

/**
 * An OxenMQ node: listeners, outgoing connections, commands grouped in categories with access policies, requests,
 * and the scheduler. Wire-compatible with C++ OxenMQ 1.2.16.
 *
 * It composes the parts (README.md#architecture) and forwards to them: the network of sockets (net/), the RPC
 * endpoint with its commands and requests (rpc/), and the scheduler with its jobs, batches and timers (dispatch/).
 * As a `Transport`, it is what typed clients and `registerXxx` functions take.
 *
 * @example
 * const omq = await OxenMQ.create();
 * omq.addCategory("public", "none").addRequestCommand("hello", (m) => m.reply("hi"));
 * const endpoint = omq.listenCurve("tcp://127.0.0.1:0");
 * await omq.start();
 */
export class OxenMQ implements Transport {
  private readonly logger: Log;
  private readonly life = new Lifecycle();
  private readonly scheduler: Scheduler;
  private readonly network: Network;
  private readonly rpc: RpcEndpoint;
  private readonly ingress: Ingress;
  private readonly timers: Timers;
  private readonly tagged: TaggedExecutor[] = [];
  private readonly closeLinger: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private pool: WorkerPool | undefined;

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
    const log = new Log(options.logger ?? (options.logLevel ? consoleLogger : undefined), options.logLevel ?? "warn");
    this.logger = log;
    this.closeLinger = options.closeLinger ?? 5_000;
    const scheduler = new Scheduler(options, log);
    this.scheduler = scheduler;
    const network = new Network({
      keys,
      tunables: options,
      maxSockets: options.maxSockets ?? 10_000,
      closeLinger: this.closeLinger,
      coalesce: options.coalesce ?? true,
      log,
      snLookup: (pk) => options.snLookup?.(pk),
      lost: (link, why) => rpc.connectionLost(link, why),
      defer: (fn) => scheduler.submitJob("reply", fn),
    });
    this.network = network;
    const rpc = new RpcEndpoint({
      scheduler,
      log,
      life: this.life,
      router: network,
      serviceNode: !!options.serviceNode,
      ...(options.coalesce === false ? {} : { batchOffer: network.batchOffer }),
    });
    this.rpc = rpc;
    this.ingress = new Ingress({
      protocol: rpc.protocol,
      keys,
      ownHex: toHex(keys.publicKey),
      log,
      sn: network.sn,
      life: this.life,
    });
    this.timers = new Timers((executor, work) => dispatchJob(scheduler, executor, work), log);
  }

  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }
  get secretKey(): Uint8Array {
    return this.keys.secretKey;
  }
  get serviceNode(): boolean {
    return this.rpc.protocol.serviceNode;
  }
  get logLevel(): LogLevel {
    return this.logger.level;
  }
  /** Changes the level at any time; setting one without a logger starts logging to the console. */
  set logLevel(level: LogLevel) {
    this.logger.level = level;
    this.logger.logger ??= consoleLogger;
  }

  get started(): boolean {
    return this.life.state === "running";
  }

  /**
   * Connection counts: `incoming` open connections on our listeners, `tracked` routes the listeners hold (incoming
   * plus closed ones whose last messages may still be unread), and `outgoing` connections we opened.
   */
  connectionStats(): { incoming: number; tracked: number; outgoing: number } {
    return this.network.stats();
  }

  // ---- commands -------------------------------------------------------------------------------------------------

  addCategory(name: string, access?: AccessSpec, options?: CategoryOptions): CategoryHelper {
    return this.rpc.addCategory(name, access, options);
  }

  addCommand(category: string, name: string, handler: CommandHandler): void {
    this.rpc.addCommand(category, name, handler);
  }

  /**
   * Adds a request command: its handler answers with `m.reply(...)`, now or later (`m.later()`). With
   * `statusFirst`, replies start with a status frame, and the runtime answers `503 shutting down` for the handler
   * when the instance closes before the request could run.
   */
  addRequestCommand(category: string, name: string, handler: CommandHandler, options?: CommandOptions): void {
    this.rpc.addRequestCommand(category, name, handler, options);
  }

  addCommandAlias(from: string, to: string): void {
    this.rpc.addCommandAlias(from, to);
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
    this.life.requireNotClosed();
    return this.network.listen(kind, bind, options);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Starts the instance: binds queued listeners (rejecting if one fails) and begins processing. */
  async start(): Promise<void> {
    if (this.life.closed)
      throw new OmqError("CLOSED", "start: the instance is closed; create a new OxenMQ to start again");
    if (this.life.state !== "new") throw new OmqError("ALREADY_STARTED", "Cannot call start multiple times!");
    this.life.state = "starting";
    this.scheduler.configure(this.rpc.registry.categories.values());
    const failure = await this.network.start(this.ingress);
    // close() may have been called while we waited: it owns the shutdown then.
    if (this.life.closed) throw new OmqError("CLOSED", "start: the instance was closed while starting");
    if (failure) {
      await this.close({ timeout: 0 });
      throw failure;
    }
    this.life.state = "running";
    for (const t of this.tagged) if (t.onStart) this.scheduler.submitTagged(t, t.onStart);
    this.timers.start();
    this.idleTimer = setInterval(() => this.network.sn.expireIdle(), this.options.connCheckInterval ?? 250);
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
    const timeout = options.timeout ?? DEFAULT_CLOSE_TIMEOUT;
    return this.life.close((wasStarted) => this.shutdown(timeout, wasStarted));
  }

  /** `await using omq = await OxenMQ.create()`: closes with the default timeout when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(timeout: number, wasStarted: boolean): Promise<void> {
    this.timers.stop();
    clearInterval(this.idleTimer);
    const closed = new OmqError("CLOSED", "the OxenMQ instance was closed");
    this.network.failPending(closed);
    await this.rpc.drain(closed, timeout, wasStarted);
    this.life.state = "closing";
    this.rpc.stop(closed);
    await this.network.close(this.closeLinger);
    await this.pool?.close();
    await this.network.loopsEnded();
    this.life.state = "closed";
  }

  // ---- connections ----------------------------------------------------------------------------------------------

  /**
   * Connects to a remote OxenMQ (any address form of docs/protocol.md#addresses; `curve://` for CURVE), sends HI and resolves
   * with the connection's id on HELLO. Fails with CONNECT_TIMEOUT ("connection attempt timed out") otherwise.
   */
  async connectRemote(address: string | Address, options: ConnectOptions = {}): Promise<ConnectionID> {
    this.life.requireStarted("connectRemote");
    nonNegativeMs(options.timeout, "connectRemote: timeout");
    const addr = typeof address === "string" ? new Address(address) : address;
    const key = addr.isCurve ? addr.pubkey : undefined;
    return this.network.connect(
      addr.zmqAddress,
      key,
      options.authLevel ?? "none",
      options.timeout ?? REMOTE_CONNECT_TIMEOUT,
    );
  }

  /** Connects to this instance itself over inproc; commands arriving this way are treated as admin. */
  async connectInproc(options: ConnectOptions = {}): Promise<ConnectionID> {
    this.life.requireStarted("connectInproc");
    nonNegativeMs(options.timeout, "connectInproc: timeout");
    return this.network.connectSelf(options.authLevel ?? "admin", options.timeout ?? INPROC_CONNECT_TIMEOUT);
  }

  /** Closes an outgoing connection (a connectRemote id or a service node's key). Incoming ones cannot be closed. */
  disconnect(conn: ConnectionID, linger = 1_000): void {
    this.life.requireStarted("disconnect");
    nonNegativeMs(linger, "disconnect: linger");
    if (!this.network.disconnect(conn, linger)) this.logger.warn(`disconnect: no outgoing connection for ${conn}`);
  }

  // ---- service nodes --------------------------------------------------------------------------------------------

  /** Replaces the set of active service nodes' pubkeys (works before start). Removed nodes' outgoing connections close. */
  setActiveSNs(pubkeys: Iterable<Uint8Array>): void {
    this.network.sn.setActive(pubkeys);
  }

  /** Adds and removes active service nodes; a key in both lists stays (the add wins). */
  updateActiveSNs(added: Iterable<Uint8Array>, removed: Iterable<Uint8Array>): void {
    this.network.sn.update(added, removed);
  }

  /** Whether a pubkey is in the active service-node set. */
  isActiveSN(pubkey: Uint8Array): boolean {
    keyBytes(pubkey, "isActiveSN(pubkey)");
    return pubkey.length === 32 && this.network.sn.isActive(toHex(pubkey));
  }

  /**
   * Connects to a service node by public key (or reuses a connection to it) and returns its id, usable at once.
   * The address comes from `hint` or `snLookup`; with neither, an error is logged (as C++ does).
   */
  connectSN(pubkey: Uint8Array, options: ConnectSNOptions = {}): ConnectionID {
    this.life.requireStarted("connectSN");
    keyBytes(pubkey, "connectSN(pubkey)");
    const id = ConnectionID.sn(pubkey);
    this.network.sn.connect(pubkey, options);
    return id;
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /**
   * Sends `[command, ...data]` to a connection without waiting. Failures go to `queueFailure` / `queueFull`. Works
   * while `close()` lets handlers finish; throws CLOSED once the sockets are closing.
   */
  send(to: ConnectionID, command: string, data: Frame[] = [], options: SendOptions = {}): void {
    this.rpc.send(to, command, data, options);
  }

  /**
   * Sends a request (`[command, tag, ...data]`) and resolves with the reply's data frames. Rejects with an
   * OmqError: TIMEOUT, ABORTED, CLOSED, DISCONNECTED, a wire error word (FORBIDDEN, …), or a send failure; with
   * `statusFirst` (for typed commands), an RpcError for a reply whose status is not 200.
   */
  request(to: ConnectionID, command: string, data: Frame[] = [], options: RequestOptions = {}): Promise<Buffer[]> {
    return this.rpc.request(to, command, data, options);
  }

  // ---- jobs, batches, timers, tagged executors ------------------------------------------------------------------

  /** Adds a named serial executor (before start); `onStart` runs on it when the instance starts. */
  addTaggedThread(name: string, onStart?: Work): TaggedExecutor {
    this.life.requireNotStarted("addTaggedThread");
    if (this.tagged.some((t) => t.name === name))
      throw new OmqError("INVALID_ARGUMENT", `tagged thread '${name}' already exists`);
    const t = new TaggedExecutor(this.tagged.length + 1, name, onStart);
    this.tagged.push(t);
    return t;
  }

  /** Runs `fn` as a batch job on the pool, or on a tagged executor. Exceptions are swallowed (logged at debug). */
  job(fn: Work, executor?: TaggedExecutor): void {
    this.life.requireStarted("job", true);
    if (isRunInProxy(executor)) throw new OmqError("INVALID_ARGUMENT", "job() cannot run in the proxy");
    dispatchJob(this.scheduler, executor, fn);
  }

  /** Submits a batch: its jobs run in parallel, then its completion gets the results in insertion order. */
  batch<T>(batch: Batch<T>): void {
    this.life.requireStarted("batch", true);
    runBatch(batch, this.scheduler, () => this.workerPool(), this.logger);
  }

  /** Runs a CPU-bound job on the worker_threads pool, holding a batch slot while it runs. */
  runInWorker(spec: WorkerJobSpec): Promise<unknown> {
    const guard = this.life.error("runInWorker", true);
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
    this.life.requireStarted("injectTask", true);
    const cat = this.rpc.registry.categories.get(category);
    if (!cat) throw new OmqError("INVALID_ARGUMENT", `injectTask: unknown category '${category}'`);
    this.scheduler.submitCommand(cat, fn, `injected task ${category}.${command} from ${remote}`);
  }

  private workerPool(): WorkerPool {
    return (this.pool ??= new WorkerPool(this.options.workerThreads ?? this.scheduler.general, this.logger));
  }
}
