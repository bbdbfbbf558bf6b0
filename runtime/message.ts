import type { Access } from "./auth.js";
import type { ConnectionID } from "./connection-id.js";
import type { OxenMQ, RequestOptions, SendOptions } from "./oxenmq.js";
import type { Frame } from "./sockets.js";

/**
 * What a handler can do later, after it returned: reply, send back, or make a request to the same peer
 * (C++ `DeferredSend`). Copies only the instance, the connection id and the reply tag.
 */
export class DeferredSend {
  constructor(
    readonly omq: OxenMQ,
    readonly conn: ConnectionID,
    readonly replyTag: Buffer | undefined,
  ) {}

  /** Replies to the request (`[REPLY][tag][data…]`). Strong (may reconnect) for service nodes, best effort otherwise. */
  reply(...data: Frame[]): void {
    if (!this.replyTag) throw new Error("reply() on a message that is not a request: use sendBack()");
    this.omq.send(this.conn, "REPLY", [this.replyTag, ...data], { optional: !this.conn.isSN });
  }

  /** Sends a command back to the peer. */
  sendBack(command: string, data: Frame[] = [], options: SendOptions = {}): void {
    this.omq.send(this.conn, command, data, { optional: !this.conn.isSN, ...options });
  }

  /** Makes a request to the peer; resolves with the reply's data frames. */
  sendRequest(command: string, data: Frame[] = [], options: RequestOptions = {}): Promise<Buffer[]> {
    return this.omq.request(this.conn, command, data, { optional: !this.conn.isSN, ...options });
  }
}

/** An incoming command or request, as a handler sees it (docs/protocol.md#messages). Unlike C++, it stays valid after return. */
export class Message extends DeferredSend {
  constructor(
    omq: OxenMQ,
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
    super(omq, conn, replyTag);
  }

  /** The peer's proven public key, or an empty array for an unauthenticated peer. */
  get pubkey(): Uint8Array {
    return this.conn.pubkey;
  }

  /** A handle for replying or sending after the handler returned. */
  later(): DeferredSend {
    return new DeferredSend(this.omq, this.conn, this.replyTag);
  }
}
