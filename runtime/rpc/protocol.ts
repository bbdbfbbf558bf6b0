import { authAtLeast, type AuthLevel } from "../auth/access.js";
import type { Category, CommandRegistry } from "./commands.js";
import type { ConnectionID } from "../net/connection-id.js";
import { isWireErrorWord, OmqError, type WireErrorWord } from "../base/errors.js";
import type { Log } from "../base/log.js";
import { Message, type HandlerSender } from "./message.js";
import type { Outgoing } from "../net/outgoing.js";
import type { PendingRequests } from "./requests.js";
import type { Scheduler } from "../dispatch/scheduler.js";
import type { Frame } from "../wire/frames.js";
import type { Conn } from "../auth/routes.js";
import { BATCH_COMMAND, isBatch, isPacked, peerLimit, unpackBatch, unpackLeading } from "../wire/batch.js";

/** The sender of one incoming message, with everything that was proven about it. */
export interface Peer {
  readonly conn: ConnectionID;
  readonly auth: AuthLevel;
  readonly sn: boolean;
  readonly remote: string;
  /** The message arrived on one of our listeners (ROUTER) rather than on an outgoing connection (DEALER). */
  readonly onListener: boolean;
  /** The outgoing connection the message arrived on, if any. */
  readonly outgoing: Outgoing | undefined;
  /** The incoming connection it arrived on, on a curve or plain listener. */
  readonly incoming: Conn | undefined;
  /** Sends frames back on the same socket (prefixed with the route on a listener). */
  send(frames: Frame[]): void;
}

export interface ProtocolHost {
  readonly sender: HandlerSender;
  readonly registry: CommandRegistry;
  readonly scheduler: Scheduler;
  readonly requests: PendingRequests;
  readonly log: Log;
  readonly serviceNode: boolean;
  /** The frames after HELLO that accept batches (docs/protocol.md#coalescing); undefined when not coalescing. */
  readonly batchOffer: readonly string[] | undefined;
  closeOutgoing(o: Outgoing, linger: number): void;
  /** The instance is closing: it finishes accepted work but takes no new commands. */
  closing(): boolean;
}

/** The answer of a status-first request that arrives while the instance shuts down. */
export const SHUTTING_DOWN = ["503", "shutting down"] as const;

const utf8 = (b: Buffer | undefined): string => (b ? b.toString() : "");

/**
 * Handles one incoming message (frames after the route) exactly as C++ OxenMQ's proxy does (docs/protocol.md#frames):
 * builtins first (REPLY, HI, HELLO, BYE, error words), then command lookup, the access checks in their order, and
 * admission to the scheduler. Nothing here throws on bad input: malformed messages are logged and dropped.
 */
export function handleMessage(host: ProtocolHost, peer: Peer, frames: Buffer[]): void {
  const cmdFrame = frames[0];
  if (!cmdFrame || cmdFrame.length === 0) {
    host.log.warn(() => `Dropping empty message from ${peer.conn}`);
    return;
  }
  // Packed messages and batches are only read while coalescing is on; otherwise they are unknown commands, as to C++.
  if (host.batchOffer) {
    if (isPacked(cmdFrame)) return onPacked(host, peer, frames);
    if (isBatch(cmdFrame)) return onBatch(host, peer, frames);
  }
  handleOne(host, peer, cmdFrame, frames);
}

/** A packed message (docs/protocol.md#coalescing): handled as its parts, or dropped with a log line if malformed. */
function onPacked(host: ProtocolHost, peer: Peer, frames: Buffer[]): void {
  const parts = unpackLeading(frames);
  if (typeof parts === "string") {
    host.log.warn(() => `Dropping a malformed packed message from ${peer.conn}: ${parts}`);
    return;
  }
  handleOne(host, peer, parts[0]!, parts);
}

function handleOne(host: ProtocolHost, peer: Peer, cmdFrame: Buffer, frames: Buffer[]): void {
  const cmd = cmdFrame.toString();
  // Built-ins go on while the instance closes: handlers that are finishing may still await replies.
  switch (cmd) {
    case "REPLY":
      return onReply(host, peer, frames);
    case "HI": {
      if (!peer.onListener) {
        host.log.warn(`Got invalid 'HI' message on an outgoing connection from ${peer.conn}; ignoring`);
        return;
      }
      // The batch feature is answered only to a peer that offered it, on a connection that can track it: a C++ peer
      // sends a plain HI and gets today's plain HELLO. HELLO goes out before the connection takes batches.
      const limit = host.batchOffer && peer.incoming ? peerLimit(frames) : undefined;
      if (limit !== undefined) {
        peer.send(["HELLO", ...host.batchOffer!]);
        peer.incoming!.batchBytes = limit;
      } else {
        peer.send(["HELLO"]);
        // A plain HI after one with the offer withdraws it: the peer gets what it asked for last.
        if (peer.incoming) peer.incoming.batchBytes = 0;
      }
      return;
    }
    case "HELLO": {
      const out = peer.outgoing;
      const hello = out?.onHello;
      if (hello) {
        out.onHello = undefined;
        if (host.batchOffer) out.helloOffer(peerLimit(frames) ?? 0);
        hello();
      } else host.log.warn(`Got unexpected 'HELLO' from ${peer.conn}; ignoring`);
      return;
    }
    case "BYE":
      if (peer.outgoing) {
        host.log.debug(`BYE from ${peer.conn}: closing the connection`);
        host.closeOutgoing(peer.outgoing, 0);
      } else host.log.warn(`Got invalid 'BYE' message on an incoming connection from ${peer.conn}; ignoring`);
      return;
  }
  if (isWireErrorWord(cmd)) return onErrorWord(host, peer, cmd, frames);
  if (host.closing()) return whileClosing(host, peer, cmd, frames);
  onCommand(host, peer, cmd, cmdFrame, frames);
}

/**
 * A batch (docs/protocol.md#coalescing): its messages are handled in order, each exactly as if it had come alone on
 * the same connection, with the same peer. One that is malformed is dropped whole, with a log line.
 */
function onBatch(host: ProtocolHost, peer: Peer, frames: Buffer[]): void {
  const messages = unpackBatch(frames);
  if (typeof messages === "string") {
    host.log.warn(() => `Dropping a malformed batch from ${peer.conn}: ${messages}`);
    return;
  }
  for (const m of messages) {
    try {
      handleOne(host, peer, m[0]!, m);
    } catch (err) {
      host.log.error(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
}

function onReply(host: ProtocolHost, peer: Peer, frames: Buffer[]): void {
  const tag = frames[1];
  if (!tag) {
    host.log.warn(`Received REPLY without a reply tag from ${peer.conn}; ignoring`);
    return;
  }
  const pending = host.requests.take(tag);
  if (!pending) {
    host.log.warn(`Received REPLY with an unknown or expired tag from ${peer.conn}; ignoring`);
    return;
  }
  const data = frames.slice(2);
  host.scheduler.submitJob("reply", () => pending.resolve(data));
}

function onErrorWord(host: ProtocolHost, peer: Peer, word: WireErrorWord, frames: Buffer[]): void {
  if (frames.length === 3 && utf8(frames[1]) === "REPLY") {
    const pending = host.requests.take(frames[2]!);
    if (pending) {
      const err = new OmqError(word, `request '${pending.command}' rejected by ${peer.conn}: ${word}`);
      host.scheduler.submitJob("reply", () => pending.reject(err));
    } else host.log.warn(`Received ${word} for an unknown or expired request from ${peer.conn}`);
    return;
  }
  if (frames.length === 2) {
    const what = utf8(frames[1]);
    if ((what === BATCH_COMMAND || isPacked(frames[1]!)) && peer.outgoing) {
      // The server does not take batches after all (a server that is not ours took the address over): what went
      // packed or in batches is lost, but nothing more is sent that way on this connection.
      peer.outgoing.peerBatchBytes = 0;
      host.log.warn(`${peer.conn} answered a batch with ${word}: coalescing is off on this connection`);
      return;
    }
    host.log.warn(`Received ${word}:${what} from ${peer.conn}`);
    // Improvement on C++ that changes nothing on the wire: a request to an unknown (or non-request) command gets the
    // command form back; if exactly one request for that command is pending on this connection, fail it now.
    const tag = host.requests.soleTagFor(peer.conn.key, what);
    if (tag !== undefined)
      host.requests.fail(tag, new OmqError(word, `request '${what}' rejected by ${peer.conn}: ${word}`));
    return;
  }
  if (frames.length === 1 && word === "UNKNOWNCOMMAND") {
    host.log.debug(`Received plain UNKNOWNCOMMAND from ${peer.conn} (pre-1.1.0 peer)`);
    return;
  }
  host.log.warn(`Received malformed ${word} message (${frames.length} frames) from ${peer.conn}`);
}

function onCommand(host: ProtocolHost, peer: Peer, cmd: string, cmdFrame: Buffer, frames: Buffer[]): void {
  const def = host.registry.lookup(cmd);
  const reject = (word: WireErrorWord): void => {
    const tag = def?.isRequest ? frames[1] : undefined;
    host.log.info(() => `Rejecting '${printable(cmd)}' from ${peer.conn}: ${word}`);
    peer.send(tag ? [word, "REPLY", tag] : [word, cmdFrame]);
  };
  if (!def) return reject("UNKNOWNCOMMAND");
  const cat = def.category;
  const denied = denial(host, peer, cat);
  if (denied) return reject(denied);
  if (def.isRequest && frames.length < 2) return reject("NO_REPLY_TAG");

  const replyTag = def.isRequest ? frames[1] : undefined;
  const data = frames.slice(def.isRequest ? 2 : 1);
  const access = { auth: peer.auth, remoteSN: peer.sn, localSN: host.serviceNode };
  const msg = new Message(host.sender, peer.conn, cmd, data, access, peer.remote, replyTag);
  if (peer.outgoing) peer.outgoing.lastActivity = Date.now();
  host.scheduler.submitCommand(
    cat,
    () => def.handler(msg),
    () => `command '${cmd}' from ${peer.conn}`,
    // Accepted but still queued when close() gives up: a status-first caller learns it will not run.
    def.statusFirst && replyTag ? () => peer.send(["REPLY", replyTag, ...SHUTTING_DOWN]) : undefined,
  );
}

/**
 * A message that arrives while the instance closes: no new command is taken. A status-first request the caller may
 * run is answered `503 shutting down`; the wire has no word for anything else, which is dropped with a log line.
 */
function whileClosing(host: ProtocolHost, peer: Peer, cmd: string, frames: Buffer[]): void {
  const def = host.registry.lookup(cmd);
  const tag = frames[1];
  if (def === undefined) {
    host.log.debug(() => `Dropping '${printable(cmd)}' from ${peer.conn}: shutting down`);
    return;
  }
  if (def.isRequest && def.statusFirst && tag && denial(host, peer, def.category) === undefined) {
    host.log.info(() => `Answering '${printable(cmd)}' from ${peer.conn} with 503: shutting down`);
    peer.send(["REPLY", tag, ...SHUTTING_DOWN]);
    return;
  }
  host.log.info(() => `Dropping '${printable(cmd)}' from ${peer.conn}: shutting down`);
}

/** Why the peer may not run a command of `cat`, checked in C++ OxenMQ's order; undefined if it may. */
function denial(host: ProtocolHost, peer: Peer, cat: Category): WireErrorWord | undefined {
  if (!authAtLeast(peer.auth, cat.access.auth)) return "FORBIDDEN";
  if (cat.access.localSN && !host.serviceNode) return "NOT_A_SERVICE_NODE";
  if (cat.access.remoteSN && !peer.sn) return "FORBIDDEN_SN";
  return undefined;
}

function printable(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s.replace(/[^\x20-\x7e]/g, "?");
}
