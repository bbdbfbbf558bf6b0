import type { Access } from "../auth/access.js";
import type { Log } from "../base/log.js";
import type { ConnectionID } from "../net/connection-id.js";
import type { RequestOptions, SendOptions } from "./options.js";
import type { Frame } from "../wire/frames.js";

/**
 * What handler code needs from the instance to answer: sends that follow the shutdown contract
 * (docs/scheduling.md#shutdown-and-faults), requests, and the count of replies promised by `later()`.
 */
export interface HandlerSender {
  /** The instance's log (for the typed layer's lines about a handler). */
  readonly log: Log;
  /**
   * Sends frames for handler code: while the instance runs or finishes its work at close; once its sockets are
   * closing, the message is dropped with a log line (never thrown: handlers often reply from timers).
   */
  send(to: ConnectionID, command: string, data: Frame[], options: SendOptions, what: string): void;
  request(to: ConnectionID, command: string, data: Frame[], options: RequestOptions): Promise<Buffer[]>;
  /** A reply was promised (a request's `later()`): `close()` waits for it. */
  replyOwed(): void;
  /** A promised reply was given. */
  replyGiven(): void;
}

/** Whether a request has been answered, and whether a reply was promised; shared by a message and its handles. */
class ReplyState {
  owed = false;
  given = false;
}

/**
 * What a handler can do later, after it returned: reply, send back, or make a request to the same peer
 * (C++ `DeferredSend`). Copies only the connection id, the reply tag and the instance's sender.
 */
export class DeferredSend {
  /** @internal */
  constructor(
    protected readonly sender: HandlerSender,
    readonly conn: ConnectionID,
    readonly replyTag: Buffer | undefined,
    /** @internal */
    protected readonly state: ReplyState = new ReplyState(),
  ) {}

  /**
   * Replies to the request (`[REPLY][tag][data…]`). Strong (may reconnect) for service nodes, best effort otherwise.
   * After the instance closed, the reply is dropped with a log line.
   */
  reply(...data: Frame[]): void {
    if (!this.replyTag) throw new Error("reply() on a message that is not a request: use sendBack()");
    const s = this.state;
    if (!s.given) {
      s.given = true;
      if (s.owed) this.sender.replyGiven();
    }
    this.sender.send(this.conn, "REPLY", [this.replyTag, ...data], { optional: !this.conn.isSN }, "a reply");
  }

  /** Sends a command back to the peer. After the instance closed, it is dropped with a log line. */
  sendBack(command: string, data: Frame[] = [], options: SendOptions = {}): void {
    this.sender.send(this.conn, command, data, { optional: !this.conn.isSN, ...options }, `'${command}'`);
  }

  /** Makes a request to the peer; resolves with the reply's data frames (rejects CLOSED once the instance closes). */
  sendRequest(command: string, data: Frame[] = [], options: RequestOptions = {}): Promise<Buffer[]> {
    return this.sender.request(this.conn, command, data, { optional: !this.conn.isSN, ...options });
  }
}

/** An incoming command or request, as a handler sees it (docs/protocol.md#messages). Unlike C++, it stays valid after return. */
export class Message extends DeferredSend {
  /** @internal */
  constructor(
    sender: HandlerSender,
    conn: ConnectionID,
    /** The full command name as it arrived (before alias mapping). */
    readonly command: string,
    /** Data frames, without the reply tag. */
    readonly data: Buffer[],
    /** The invoker's actual access: its auth level, whether it is a proven active service node, and our SN mode. */
    readonly access: Access,
    /** The peer's IP as seen at its handshake, or "(unknown)". */
    readonly remote: string,
    replyTag: Buffer | undefined,
  ) {
    super(sender, conn, replyTag);
  }

  /** The peer's proven public key, or an empty array for an unauthenticated peer. */
  get pubkey(): Uint8Array {
    return this.conn.pubkey;
  }

  /**
   * A handle for replying or sending after the handler returned. For a request, the reply is then owed: `close()`
   * waits for it (up to its timeout) before closing the sockets.
   */
  later(): DeferredSend {
    const s = this.state;
    if (this.replyTag && !s.owed && !s.given) {
      s.owed = true;
      this.sender.replyOwed();
    }
    return new DeferredSend(this.sender, this.conn, this.replyTag, s);
  }
}

/** @internal The log of the instance a message or handle belongs to (the typed layer logs about handlers there). */
export function logOf(m: DeferredSend): Log {
  return m["sender"].log;
}
