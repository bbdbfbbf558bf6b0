import type { AuthLevel } from "../auth/access.js";
import type { ConnectionID } from "../net/connection-id.js";
import { OmqError } from "../base/errors.js";
import type { Frame } from "../wire/frames.js";
import { logOf, type Message } from "./message.js";
import { DEFAULT_REQUEST_TIMEOUT } from "./options.js";
import { RpcError, STATUS_OK } from "./status.js";
import type { ServerTransport } from "./transport.js";
import { decode, encode, type CategoryDescriptor, type CommandDescriptor } from "./typed-payload.js";

/** The server side of typed commands: what generated `registerXxx` functions call. */

const STATUS_OK_FRAME = Buffer.from(STATUS_OK);

export interface CallContext {
  /** The caller's connection; use it to send back later. */
  readonly conn: ConnectionID;
  /** The caller's proven public key (empty when it proved none). */
  readonly pubkey: Uint8Array;
  readonly auth: AuthLevel;
  /** Whether the caller is a proven, active service node. */
  readonly serviceNode: boolean;
  readonly remote: string;
  /** When the caller has most likely given up (arrival + the default request timeout), in ms since the epoch. */
  readonly deadline: number;
  /** Aborted at the deadline. */
  readonly signal: AbortSignal;
  /** The underlying untyped message. */
  readonly message: Message;
}

/** A reply to be given later, after the handler returned (it then no longer holds its slot). */
export class DeferredReply<R> {
  private done = false;
  /** @internal */
  constructor(private readonly send: (err: unknown, value?: R) => void) {}
  resolve(value: R): void {
    if (this.done) return;
    this.done = true;
    this.send(undefined, value);
  }
  reject(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.send(err ?? new Error("rejected"));
  }
}

export interface RequestContext<R> extends CallContext {
  /** Take over the reply: return the DeferredReply from the handler and resolve it whenever ready. */
  later(): DeferredReply<R>;
}

/** What a request handler may return. */
export type HandlerResult<R> = R | DeferredReply<R> | Promise<R | DeferredReply<R>>;

type AnyHandler = (args: unknown, ctx: RequestContext<unknown>) => unknown;

/** The context of one typed call; getters on the prototype keep it cheap to create per message. */
class Context<R> implements RequestContext<R> {
  private readonly arrived = Date.now();
  private abort: AbortSignal | undefined;
  constructor(
    readonly message: Message,
    private readonly replier: (err: unknown, value?: R) => void,
  ) {}
  get conn(): ConnectionID {
    return this.message.conn;
  }
  get pubkey(): Uint8Array {
    return this.message.pubkey;
  }
  get auth(): AuthLevel {
    return this.message.access.auth;
  }
  get serviceNode(): boolean {
    return this.message.access.remoteSN;
  }
  get remote(): string {
    return this.message.remote;
  }
  get deadline(): number {
    return this.arrived + DEFAULT_REQUEST_TIMEOUT;
  }
  get signal(): AbortSignal {
    return (this.abort ??= AbortSignal.timeout(Math.max(0, this.deadline - Date.now())));
  }
  later(): DeferredReply<R> {
    this.message.later(); // the reply is now owed: close() waits for it
    return new DeferredReply<R>(this.replier);
  }
}

const noReply = (): void => {};

/**
 * Creates a category on `transport` from its descriptor (access, reserved threads, queue limit) and wires every handler:
 * arguments are decoded and validated (400 on failure), results encoded (500 if the handler returned an invalid one),
 * handler errors answered with their status (RpcError) or 500.
 */
export function registerCategory(transport: ServerTransport, desc: CategoryDescriptor, handlers: object): void {
  const table = handlers as Record<string, AnyHandler | undefined>;
  for (const d of desc.commands)
    if (typeof table[d.method] !== "function")
      throw new OmqError("INVALID_ARGUMENT", `no handler '${d.method}' for ${d.fullName}`);
  const cat = transport.addCategory(desc.name, desc.access, {
    reservedThreads: desc.reservedThreads,
    maxQueue: desc.maxQueue,
  });
  for (const d of desc.commands) {
    const fn = table[d.method]!;
    const handler: AnyHandler = (args, ctx) => fn.call(handlers, args, ctx);
    if (d.request)
      cat.addRequestCommand(d.name, (msg) => serveRequest(d, handler, msg), {
        statusFirst: d.encoding !== "raw",
      });
    else cat.addCommand(d.name, (msg) => serveCommand(d, handler, msg));
    for (const alias of d.aliases) transport.addCommandAlias(alias, d.fullName);
  }
}

function serveCommand(d: CommandDescriptor, handler: AnyHandler, msg: Message): unknown {
  let args: unknown;
  try {
    args = decode(d.encoding, d.args, msg.data, "args");
  } catch (err) {
    logOf(msg).warn(`Dropping ${d.fullName} from ${msg.conn}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  return handler(args, new Context(msg, noReply));
}

function serveRequest(d: CommandDescriptor, handler: AnyHandler, msg: Message): unknown {
  const reply = (err: unknown, value?: unknown): void => {
    if (err !== undefined) return replyError(d, msg, err);
    let frames: Frame[];
    try {
      frames = encode(d.encoding, d.result, value, "result");
    } catch (e) {
      logOf(msg).error(
        `${d.fullName} handler returned an invalid result: ${e instanceof Error ? e.message : String(e)}`,
      );
      return replyError(d, msg, new RpcError(500, "internal error: invalid result"));
    }
    if (d.encoding === "raw") msg.reply(...frames);
    else msg.reply(STATUS_OK_FRAME, ...frames);
  };
  let args: unknown;
  try {
    args = decode(d.encoding, d.args, msg.data, "args");
  } catch (err) {
    return replyError(d, msg, new RpcError(400, err instanceof Error ? err.message : String(err)));
  }
  const settle = (out: unknown): void => {
    if (!(out instanceof DeferredReply)) reply(undefined, out);
  };
  let out: unknown;
  try {
    out = handler(args, new Context(msg, reply));
  } catch (err) {
    return reply(err);
  }
  if (out instanceof Promise) return out.then(settle, (err: unknown) => reply(err));
  settle(out);
  return undefined;
}

function replyError(d: CommandDescriptor, msg: Message, err: unknown): void {
  if (!(err instanceof RpcError))
    logOf(msg).warn(`${d.fullName} handler failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  const status = err instanceof RpcError ? err.status : 500;
  const text = err instanceof RpcError ? err.message : "internal error";
  msg.reply(String(status), text);
}
