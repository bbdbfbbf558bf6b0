import type { Access, AuthLevel } from "./auth.js";
import { decodeBt, encodeBt, type Codec } from "./codec.js";
import { RpcError, STATUS_OK, unwrapStatus } from "./status.js";
import type { ConnectionID } from "./connection-id.js";
import { OmqError } from "./errors.js";
import type { Message } from "./message.js";
import { DEFAULT_REQUEST_TIMEOUT, type OxenMQ, type RequestOptions, type SendOptions } from "./oxenmq.js";
import type { Frame } from "./sockets.js";

/** How a command's arguments and result travel: one bt-encoded frame (default), one JSON frame, or raw frames. */
export type Encoding = "bt" | "json" | "raw";

/** Static description of one schema command; generated code holds a table of these. */
export interface CommandDescriptor<A = unknown, R = unknown> {
  readonly category: string;
  readonly name: string;
  /** `category.name`, as on the wire. */
  readonly fullName: string;
  /** Name of the client method and of the handler interface member. */
  readonly method: string;
  readonly request: boolean;
  readonly encoding: Encoding;
  readonly args: Codec<A>;
  readonly result: Codec<R>;
  readonly aliases: readonly string[];
}

export interface CategoryDescriptor {
  readonly name: string;
  readonly access: Access;
  readonly reservedThreads: number;
  readonly maxQueue: number;
  readonly commands: readonly CommandDescriptor[];
}

/** Reply status of a successful typed request (OxenMQ RPC servers answer `[status, body]`). */
export { RpcError, STATUS_OK };
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

export type CallOptions = Pick<RequestOptions, "timeout" | "signal" | "optional" | "hint" | "keepAlive">;

// ---- encoding ------------------------------------------------------------------------------------------------------

function encode<T>(encoding: Encoding, codec: Codec<T>, value: T, path: string): Frame[] {
  switch (encoding) {
    case "bt":
      return [encodeBt(codec, value, path)];
    case "json":
      return [JSON.stringify(codec.toJson(value, path))];
    case "raw":
      if (!Array.isArray(value) || !value.every((f) => typeof f === "string" || f instanceof Uint8Array))
        throw new OmqError("INVALID_ARGUMENT", `${path}: expected an array of frames`);
      return value as Frame[];
  }
}

function decode<T>(encoding: Encoding, codec: Codec<T>, frames: Buffer[], path: string): T {
  if (encoding === "raw") return frames as T;
  if (frames.length > 1)
    throw new OmqError("INVALID_ARGUMENT", `${path}: expected one ${encoding} frame, got ${frames.length}`);
  const frame = frames[0];
  if (encoding === "bt") return decodeBt(codec, frame, path);
  let parsed: unknown = {};
  if (frame?.length) {
    try {
      parsed = JSON.parse(frame.toString("utf8"));
    } catch (err) {
      throw new OmqError(
        "INVALID_ARGUMENT",
        `${path}: undecodable JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  return codec.fromJson(parsed, path);
}

// ---- client side ---------------------------------------------------------------------------------------------------

/** Calls a typed request command; resolves with the decoded result or rejects (RpcError for application errors). */
export async function callRequest<A, R>(
  omq: OxenMQ,
  conn: ConnectionID,
  d: CommandDescriptor<A, R>,
  args: A,
  options?: CallOptions,
): Promise<R> {
  const reply = await omq.request(conn, d.fullName, encode(d.encoding, d.args, args, "args"), options);
  if (d.encoding === "raw") return reply as R;
  const payload = unwrapStatus(reply, d.fullName);
  try {
    return decode(d.encoding, d.result, payload, "result");
  } catch (err) {
    throw new OmqError("BAD_REPLY", `${d.fullName}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/** Sends a typed fire-and-forget command. Invalid arguments throw before anything is sent. */
export function callCommand<A>(
  omq: OxenMQ,
  conn: ConnectionID,
  d: CommandDescriptor<A, void>,
  args: A,
  options?: SendOptions,
): void {
  omq.send(conn, d.fullName, encode(d.encoding, d.args, args, "args"), options);
}

// ---- server side ---------------------------------------------------------------------------------------------------

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
 * Creates a category on `omq` from its descriptor (access, reserved threads, queue limit) and wires every handler:
 * arguments are decoded and validated (400 on failure), results encoded (500 if the handler returned an invalid one),
 * handler errors answered with their status (RpcError) or 500.
 */
export function registerCategory(omq: OxenMQ, desc: CategoryDescriptor, handlers: object): void {
  const table = handlers as Record<string, AnyHandler | undefined>;
  for (const d of desc.commands)
    if (typeof table[d.method] !== "function")
      throw new OmqError("INVALID_ARGUMENT", `no handler '${d.method}' for ${d.fullName}`);
  const cat = omq.addCategory(desc.name, desc.access, {
    reservedThreads: desc.reservedThreads,
    maxQueue: desc.maxQueue,
  });
  for (const d of desc.commands) {
    const fn = table[d.method]!;
    const handler: AnyHandler = (args, ctx) => fn.call(handlers, args, ctx);
    if (d.request)
      cat.addRequestCommand(d.name, (msg) => serveRequest(omq, d, handler, msg), {
        statusFirst: d.encoding !== "raw",
      });
    else cat.addCommand(d.name, (msg) => serveCommand(omq, d, handler, msg));
    for (const alias of d.aliases) omq.addCommandAlias(alias, d.fullName);
  }
}

function serveCommand(omq: OxenMQ, d: CommandDescriptor, handler: AnyHandler, msg: Message): unknown {
  let args: unknown;
  try {
    args = decode(d.encoding, d.args, msg.data, "args");
  } catch (err) {
    omq.log("warn", `Dropping ${d.fullName} from ${msg.conn}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  return handler(args, new Context(msg, noReply));
}

function serveRequest(omq: OxenMQ, d: CommandDescriptor, handler: AnyHandler, msg: Message): unknown {
  const reply = (err: unknown, value?: unknown): void => {
    if (err !== undefined) return replyError(omq, d, msg, err);
    let frames: Frame[];
    try {
      frames = encode(d.encoding, d.result, value, "result");
    } catch (e) {
      omq.log(
        "error",
        `${d.fullName} handler returned an invalid result: ${e instanceof Error ? e.message : String(e)}`,
      );
      return replyError(omq, d, msg, new RpcError(500, "internal error: invalid result"));
    }
    if (d.encoding === "raw") msg.reply(...frames);
    else msg.reply(STATUS_OK_FRAME, ...frames);
  };
  let args: unknown;
  try {
    args = decode(d.encoding, d.args, msg.data, "args");
  } catch (err) {
    return replyError(omq, d, msg, new RpcError(400, err instanceof Error ? err.message : String(err)));
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

function replyError(omq: OxenMQ, d: CommandDescriptor, msg: Message, err: unknown): void {
  if (!(err instanceof RpcError))
    omq.log("warn", `${d.fullName} handler failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  const status = err instanceof RpcError ? err.status : 500;
  const text = err instanceof RpcError ? err.message : "internal error";
  msg.reply(String(status), text);
}
