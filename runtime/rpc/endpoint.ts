import type { AccessSpec } from "../auth/access.js";
import { OmqError } from "../base/errors.js";
import type { Log } from "../base/log.js";
import type { Scheduler } from "../dispatch/scheduler.js";
import type { ConnectionID } from "../net/connection-id.js";
import type { Outgoing } from "../net/outgoing.js";
import type { RouteOptions } from "../net/service-nodes.js";
import { constantFrame, type Frame } from "../wire/frames.js";
import { CommandRegistry, type CategoryOptions, type CommandHandler, type CommandOptions } from "./commands.js";
import type { Lifecycle } from "./lifecycle.js";
import type { HandlerSender } from "./message.js";
import { checkSendOptions, DEFAULT_REQUEST_TIMEOUT, type RequestOptions, type SendOptions } from "./options.js";
import type { ProtocolHost } from "./protocol.js";
import { PendingRequests } from "./requests.js";
import { unwrapStatus } from "./status.js";
import type { CategoryHelper, Transport } from "./transport.js";

/** How messages reach a connection: the network of sockets, or the in-memory transport's direct hand-over. */
export interface Router {
  /**
   * Sends frames to `to`; `failed` hears why they could not be sent. With `track` (a request), returns the
   * connection they went out on (any object that identifies it), so that the request fails when it is lost.
   */
  deliver(
    to: ConnectionID,
    frames: Frame[],
    options: RouteOptions,
    failed: (err: OmqError) => void,
    track: boolean,
  ): object | undefined;
  /** Why a message to `to` would go out on a connection that is down now, if it would. */
  downReason(to: ConnectionID, options: RouteOptions): string | undefined;
  /** Closes one of our outgoing connections (the peer said BYE). */
  closeOutgoing(o: Outgoing, linger: number): void;
}

export interface EndpointOptions {
  readonly scheduler: Scheduler;
  readonly log: Log;
  readonly life: Lifecycle;
  readonly router: Router;
  /** Service-node mode: enables `localSN` categories. */
  readonly serviceNode: boolean;
  /** The frames after HELLO that accept batches (docs/protocol.md#coalescing); undefined: no coalescing. */
  readonly batchOffer?: readonly string[];
}

/**
 * The RPC side of an instance, whatever carries its messages: commands and categories, requests with their tags and
 * deadlines, the handlers' sender, and the deferred replies that close() waits for. `OxenMQ` runs it over its
 * network; `InMemoryTransport` over a direct hand-over. The protocol (rpc/protocol.ts) and the ingress feed it.
 */
export class RpcEndpoint implements Transport {
  readonly registry = new CommandRegistry();
  readonly requests: PendingRequests;
  readonly protocol: ProtocolHost;
  private readonly scheduler: Scheduler;
  private readonly log: Log;
  private readonly life: Lifecycle;
  private readonly router: Router;
  /** Replies promised by handlers (`later()`) and not yet given: close() waits for them. */
  private owed = 0;
  private replyWaiters: Array<() => void> = [];

  constructor(o: EndpointOptions) {
    this.scheduler = o.scheduler;
    this.log = o.log;
    this.life = o.life;
    this.router = o.router;
    this.requests = new PendingRequests((reject) => o.scheduler.submitJob("batch", reject));
    this.protocol = {
      sender: this.handlerSender(),
      registry: this.registry,
      scheduler: o.scheduler,
      requests: this.requests,
      log: o.log,
      serviceNode: o.serviceNode,
      batchOffer: o.batchOffer,
      closeOutgoing: (out, linger) => o.router.closeOutgoing(out, linger),
      closing: () => o.life.state !== "running",
    };
  }

  // ---- commands -------------------------------------------------------------------------------------------------

  addCategory(name: string, access?: AccessSpec, options?: CategoryOptions): CategoryHelper {
    this.life.requireNotStarted("addCategory");
    this.registry.addCategory(name, access, options);
    const helper: CategoryHelper = {
      addCommand: (cmd, handler) => (this.addCommand(name, cmd, handler), helper),
      addRequestCommand: (cmd, handler, opts) => (this.addRequestCommand(name, cmd, handler, opts), helper),
    };
    return helper;
  }

  addCommand(category: string, name: string, handler: CommandHandler): void {
    this.life.requireNotStarted("addCommand");
    this.registry.addCommand(category, name, handler, false);
  }

  addRequestCommand(category: string, name: string, handler: CommandHandler, options?: CommandOptions): void {
    this.life.requireNotStarted("addRequestCommand");
    this.registry.addCommand(category, name, handler, true, options);
  }

  addCommandAlias(from: string, to: string): void {
    this.life.requireNotStarted("addCommandAlias");
    this.registry.addAlias(from, to);
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /** Sends `[command, ...data]` (docs/scheduling.md#shutdown-and-faults: works while close() drains). */
  send(to: ConnectionID, command: string, data: Frame[] = [], options: SendOptions = {}): void {
    this.life.requireStarted("send", true);
    checkSendOptions(options);
    this.deliver(to, [constantFrame(command), ...data], options, undefined);
  }

  /** A request by the application; see `makeRequest`. */
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
    let guard = this.life.error("request");
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
    const down = options.waitForReconnect ? undefined : this.router.downReason(to, options);
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
        (err) => this.requests.fail(tag, err),
        track,
      );
      if (via && track) this.requests.setVia(tag, via);
    });
    return options.statusFirst ? reply.then((frames) => unwrapStatus(frames, command)) : reply;
  }

  /** Routes frames; a failure goes to `onError` (a request's), then to the options' `queueFailure`/`queueFull`, or to the log. */
  private deliver(
    to: ConnectionID,
    frames: Frame[],
    options: SendOptions,
    onError: ((err: OmqError) => void) | undefined,
    track = false,
  ): object | undefined {
    const failed = (err: OmqError): void => {
      onError?.(err);
      const { queueFailure, queueFull } = options;
      if (queueFailure) this.scheduler.submitJob("batch", () => queueFailure(err));
      else if (queueFull) this.scheduler.submitJob("batch", () => queueFull());
      else if (!onError) this.log.warn(`Unable to send message to ${to}: ${err.message}`);
    };
    return this.router.deliver(to, frames, options, failed, track);
  }

  /** How handler code sends and replies (docs/scheduling.md#shutdown-and-faults). */
  private handlerSender(): HandlerSender {
    return {
      log: this.log,
      send: (to, command, data, options, what) => {
        if (this.life.sending) {
          checkSendOptions(options);
          this.deliver(to, [constantFrame(command), ...data], options, undefined);
        } else this.log.warn(`Dropping ${what} to ${to}: the instance is closed`);
      },
      request: (to, command, data, options) => this.makeRequest(to, command, data, options, true),
      replyOwed: () => void this.owed++,
      replyGiven: () => {
        if (--this.owed === 0) for (const w of this.replyWaiters.splice(0)) w();
      },
    };
  }

  // ---- faults and shutdown --------------------------------------------------------------------------------------

  /** Fails the requests that went out on a connection that is gone or unreachable now (unless they wait for it). */
  connectionLost(via: object, why: string): void {
    const n = this.requests.failVia(via, (command) => new OmqError("DISCONNECTED", `request '${command}': ${why}`));
    if (n) this.log.info(`${n} pending request(s) failed: ${why}`);
  }

  /**
   * close()'s first part (docs/scheduling.md#shutdown-and-faults): the application's requests fail with `closed`
   * now; if the instance was started, running, queued and deferred handlers get `timeout` ms to finish and reply
   * (handlers' own requests may still get their replies meanwhile).
   */
  async drain(closed: OmqError, timeout: number, started: boolean): Promise<void> {
    this.requests.failAll(closed, true);
    if (started && !(await this.drained(timeout))) {
      const { running, queued } = this.scheduler.load;
      this.log.warn(
        `close: after ${timeout} ms, ${running} handler(s) still running, ${queued} queued and ${this.owed} ` +
          `deferred repl(ies) not given; queued work is dropped and later replies will not be sent`,
      );
    }
  }

  /** close()'s end, before the sockets close: every request left fails with `closed`, queued work is dropped. */
  stop(closed: OmqError): void {
    this.requests.failAll(closed);
    this.scheduler.stop();
  }

  /** Resolves true once no work holds or waits for a slot and no deferred reply is owed; false after `timeout` ms. */
  private async drained(timeout: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeout)));
    const settled = (async () => {
      for (;;) {
        await this.scheduler.idle();
        if (this.owed === 0) return true;
        await new Promise<void>((r) => this.replyWaiters.push(r));
      }
    })();
    try {
      return await Promise.race([settled, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
