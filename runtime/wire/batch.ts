import type { OmqError } from "../base/errors.js";
import { constantFrame, type Frame } from "./frames.js";

/**
 * Coalesced messages between two nodes of this library (docs/protocol.md#coalescing).
 *
 * A batch is one zmq message of two frames, `["BATCH", body]`; the body holds the messages one after the other, each
 * as a byte with its number of frames (1 to 255) followed by each frame as a 4-byte big-endian length and its bytes.
 * One frame rather than one per part: libzmq encrypts, and zeromq.js hands over, every frame on its own, and for
 * small messages that per-frame work is most of the cost.
 *
 * A message sent alone is *packed*: its leading parts (command, tag, status: whatever fits in `PACK_BYTES`) travel in
 * its first frame, a zero byte followed by them in the body layout of a one-message batch; its other parts follow as
 * frames of their own. `[cmd][tag][payload]` becomes `[\0 cmd tag][payload]`, or one frame when the payload is small.
 *
 * A node offers batches with two extra frames on HI: `["HI", "batch/1", maxMessageSize]`, the largest frame it takes
 * (libzmq's limit, which applies per frame; -1 for none). A node that accepts answers `["HELLO", "batch/1",
 * maxMessageSize]`, and each side keeps the bodies it sends within the other's limit. C++ OxenMQ ignores the frames
 * after HI and answers a plain HELLO, so it never receives a batch.
 */
export const BATCH_COMMAND = "BATCH";
export const BATCH_FEATURE = "batch/1";

/**
 * At most this many messages in one batch that we accept: a peer's one message must not buy much more work than the
 * messages it holds would cost it sent alone (our sender packs at most 32).
 */
export const MAX_BATCH_MESSAGES = 64;
/** A sender puts at most this many messages in one batch… */
export const SEND_BATCH_MESSAGES = 32;
/** …and a body of at most this many bytes (or the peer's max message size, if smaller). */
export const SEND_BATCH_BYTES = 256 * 1024;

/** The first byte of a packed message (no command name starts with it: a command is text, and never empty). */
export const PACKED = 0x00;
/**
 * The most a packed first frame holds. zeromq.js copies a frame of up to 128 bytes and hands a larger one to libzmq
 * without copying; libzmq then lets go of it on its I/O thread, which wakes the sending thread to release it, and
 * that wake-up costs more than the frames packing saves. So packing never makes a frame larger than 128 bytes.
 */
export const PACK_BYTES = 128;

const batchFrame = constantFrame(BATCH_COMMAND);
/** Handshakes are never batched, so never accepted in a batch; nor is a batch. */
const NOT_BATCHED = new Set(["HI", "HELLO", "BYE", BATCH_COMMAND]);

/** The bytes a message takes in a batch body. */
export function batchedSize(frames: readonly Frame[]): number {
  let n = 1;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    n += 4 + (typeof f === "string" ? Buffer.byteLength(f) : f.byteLength);
  }
  return n;
}

/** `["BATCH", body]` for messages of 1 to 255 frames each; `size` is the sum of their `batchedSize`s. */
export function packBatch(
  messages: readonly Frame[][],
  size = messages.reduce((n, m) => n + batchedSize(m), 0),
): Frame[] {
  const body = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    body[pos++] = m.length;
    pos = writeFrames(body, pos, m, m.length);
  }
  return [batchFrame, body];
}

/** Writes the first `n` frames, each as a 4-byte big-endian length and its bytes, at `pos`; returns the end. */
function writeFrames(out: Buffer, pos: number, frames: readonly Frame[], n: number): number {
  for (let j = 0; j < n; j++) {
    const f = frames[j]!;
    if (typeof f === "string") {
      const len = out.write(f, pos + 4);
      out.writeUInt32BE(len, pos);
      pos += 4 + len;
    } else {
      out.writeUInt32BE(f.byteLength, pos);
      out.set(f, pos + 4);
      pos += 4 + f.byteLength;
    }
  }
  return pos;
}

/**
 * The messages of a batch `["BATCH", body]`, in order, or why it is malformed. Accepted only if it is exactly two
 * frames, the body parses to its last byte, every message has 1 to 255 frames, there are 1 to 64 messages, and none
 * has an empty command, is packed, is itself a batch, or is a handshake (HI, HELLO, BYE: never batched): a batch is
 * taken whole or not at all. Each frame is a copy of its own bytes, so a frame a handler keeps keeps nothing else in
 * memory.
 */
export function unpackBatch(frames: readonly Buffer[]): Buffer[][] | string {
  if (frames.length !== 2) return `${frames.length} frames (a batch has 2)`;
  const body = frames[1]!;
  if (body.length === 0) return "an empty body";
  const out: Buffer[][] = [];
  let pos = 0;
  while (pos < body.length) {
    if (out.length === MAX_BATCH_MESSAGES) return `more than ${MAX_BATCH_MESSAGES} messages`;
    const n = body[pos++]!;
    if (n === 0) return `message ${out.length} has no frames`;
    const m = new Array<Buffer>(n);
    for (let j = 0; j < n; j++) {
      if (pos + 4 > body.length) return `message ${out.length} is cut short`;
      const len = body.readUInt32BE(pos);
      pos += 4;
      if (len > body.length - pos) return `message ${out.length} is cut short`;
      m[j] = body.subarray(pos, (pos += len));
    }
    const why = refusal(m[0]!);
    if (why !== undefined) return `message ${out.length} is ${why}`;
    out.push(m);
  }
  // Validated whole: now each frame gets its own bytes, so a frame a handler keeps keeps nothing else.
  for (let i = 0; i < out.length; i++) {
    const m = out[i]!;
    for (let j = 0; j < m.length; j++) m[j] = Buffer.from(m[j]!);
  }
  return out;
}

/**
 * The message with its leading parts packed into its first frame (as many as fit in `PACK_BYTES`, or in `limit`,
 * the peer's largest frame, if smaller), or the frames as they are when fewer than two fit.
 */
export function packLeading(frames: Frame[], limit: number): Frame[] {
  const cap = Math.min(PACK_BYTES, limit);
  let size = 2;
  let n = 0;
  while (n < frames.length && n < 255) {
    const f = frames[n]!;
    const next = size + 4 + (typeof f === "string" ? Buffer.byteLength(f) : f.byteLength);
    if (next > cap) break;
    size = next;
    n++;
  }
  if (n < 2) return frames;
  const head = Buffer.allocUnsafe(size);
  head[0] = PACKED;
  head[1] = n;
  writeFrames(head, 2, frames, n);
  if (n === frames.length) return [head];
  const out: Frame[] = [head];
  for (let i = n; i < frames.length; i++) out.push(frames[i]!);
  return out;
}

/**
 * Whether a message must travel as it is, never packed or batched:
 * - a handshake (HI, HELLO, BYE): the other side reads it before it knows whether we coalesce (a HELLO can reach the
 *   coalescer: one held while the listener's gate holds sends is released after its connection started taking
 *   batches);
 * - a command the receiver refuses in a batch or packed (empty, starting with a zero byte, BATCH): alone, only that
 *   message is dropped; in a batch it would take the others with it (send() takes any command name).
 */
export function travelsAlone(frames: readonly Frame[]): boolean {
  const f = frames[0];
  if (f === undefined) return true;
  if (typeof f === "string") return f.length === 0 || f.charCodeAt(0) === PACKED || NOT_BATCHED.has(f);
  if (f.length === 0 || f[0] === PACKED) return true;
  if (f.length > 5 || (f[0] !== 0x48 && f[0] !== 0x42)) return false; // 'H', 'B'
  return NOT_BATCHED.has(Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("latin1"));
}

/**
 * Why a command is refused inside a batch or a packed frame (empty, packed, a batch, a handshake), or undefined. The
 * sender's side of the same rule is `travelsAlone`.
 */
function refusal(cmd: Buffer): string | undefined {
  if (cmd.length === 0) return "empty";
  if (cmd[0] === PACKED) return "packed";
  if (NOT_BATCHED.has(cmd.toString("latin1"))) return isBatch(cmd) ? "a batch" : `a handshake (${cmd.toString()})`;
  return undefined;
}

/** Whether a message's first frame is a packed one. */
export function isPacked(first: Buffer): boolean {
  return first.length > 0 && first[0] === PACKED;
}

/**
 * The parts of a packed message (its first frame's, then its other frames), or why it is malformed: the first frame
 * must parse to its last byte and hold 1 to 255 parts, and the command may not be empty, packed again, a batch or a
 * handshake. The parts are views of the message's own frame.
 */
export function unpackLeading(frames: readonly Buffer[]): Buffer[] | string {
  const head = frames[0]!;
  if (head.length < 2) return "no part count";
  // Senders never make a larger one; its parts are views of it, and one kept small part must not keep much more.
  if (head.length > PACK_BYTES) return `a first frame of ${head.length} bytes (at most ${PACK_BYTES})`;
  const n = head[1]!;
  if (n === 0) return "no parts";
  const out: Buffer[] = [];
  let pos = 2;
  for (let j = 0; j < n; j++) {
    if (pos + 4 > head.length) return "cut short";
    const len = head.readUInt32BE(pos);
    pos += 4;
    if (len > head.length - pos) return "cut short";
    out.push(head.subarray(pos, (pos += len)));
  }
  if (pos !== head.length) return "bytes after its last part";
  const why = refusal(out[0]!);
  if (why !== undefined) return `its command is ${why}`;
  for (let i = 1; i < frames.length; i++) out.push(frames[i]!);
  return out;
}

/** Whether a message (frames after any route) is a batch. */
export function isBatch(cmd: Buffer): boolean {
  return cmd.length === 5 && cmd[0] === 0x42 && cmd.toString("latin1") === BATCH_COMMAND;
}

/**
 * The frames after HI or HELLO that offer batches: the feature and our max message size. `peerLimit` reads the
 * other side's: the body size limit for what we send it, or undefined if it did not offer batches.
 */
export function batchOffer(maxMessageSize: number): string[] {
  return [BATCH_FEATURE, String(maxMessageSize)];
}

export function peerLimit(frames: readonly Buffer[]): number | undefined {
  for (let i = 1; i < frames.length - 1; i++) {
    if (frames[i]!.toString("latin1") !== BATCH_FEATURE) continue;
    const text = frames[i + 1]!.toString("latin1");
    if (!/^(-1|0|[1-9][0-9]{0,15})$/.test(text)) return undefined;
    const max = Number(text);
    return max < 0 ? SEND_BATCH_BYTES : Math.min(SEND_BATCH_BYTES, max);
  }
  return undefined;
}

type Done = ((err?: OmqError) => void) | undefined;

/** The connection a coalescer sends on, as it is at the moment of sending. */
export interface BatchLink {
  /**
   * The largest batch body the peer takes on this connection now: 0 if it takes no batches, undefined if the
   * connection is gone.
   */
  batchLimit(): number | undefined;
  /** Sends one message (a batch or not) on the connection as it is now. */
  sendNow(frames: Frame[], done: Done): void;
  /** Why messages could not be sent: the connection is gone. */
  gone(): OmqError;
}

/**
 * Coalesces the messages for one connection (docs/protocol.md#coalescing). The first message of a turn of the event
 * loop goes out at once, packed: nothing ever waits for company. Those that follow in the same turn wait for its end
 * (an immediate), or until enough of them make a batch, and then go out in batches while the connection takes them
 * (one by one otherwise). A batch never waits for the reply to another: several can be on the way, so both ends keep
 * working. Whether the connection takes packed messages and batches is asked at each send, of the connection the
 * message goes out on then.
 */
export class Coalescer {
  private frames: Frame[][] = [];
  private dones: Done[] = [];
  /** A turn is under way: its first message went out, and the flush at its end is scheduled. */
  private open = false;
  private readonly endOfTurn = (): void => {
    this.open = false;
    this.flush();
  };

  constructor(private readonly link: BatchLink) {}

  /** Whether messages must go through the coalescer to keep their order (a turn is under way). */
  get busy(): boolean {
    return this.open;
  }

  push(frames: Frame[], done: Done): void {
    if (!this.open) {
      this.open = true;
      setImmediate(this.endOfTurn);
      this.sendOne(frames, done, this.link.batchLimit());
      return;
    }
    // zeromq.js copies a frame of up to 128 bytes inside send(), so a caller may reuse such a buffer at once; one that
    // waits here is copied now, to keep that true. (A larger frame it keeps a reference to until libzmq sent it.)
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (typeof f !== "string" && f.byteLength <= PACK_BYTES) frames[i] = Buffer.from(f);
    }
    if (this.frames.push(frames) >= SEND_BATCH_MESSAGES) {
      this.dones.push(done);
      this.flush();
    } else this.dones.push(done);
  }

  /** Sends what waits: in batches while the connection takes them, else one by one. */
  flush(): void {
    const frames = this.frames;
    const dones = this.dones;
    if (frames.length === 0) return;
    this.frames = [];
    this.dones = [];
    const limit = this.link.batchLimit();
    if (limit === undefined) {
      const err = this.link.gone();
      for (const d of dones) d?.(err);
      return;
    }
    if (limit === 0 || frames.length === 1) {
      for (let i = 0; i < frames.length; i++) this.sendOne(frames[i]!, dones[i], limit);
      return;
    }
    let start = 0;
    while (start < frames.length) {
      let end = start;
      let bytes = 0;
      while (end < frames.length && end - start < SEND_BATCH_MESSAGES) {
        const m = frames[end]!;
        if (m.length > 255 || travelsAlone(m)) break;
        const b = batchedSize(m);
        if (bytes + b > limit) break;
        bytes += b;
        end++;
      }
      if (end - start <= 1) {
        // The only one left, or one too large (or of too many frames, or one that travels alone) for a batch: alone.
        this.sendOne(frames[start]!, dones[start], limit);
        start++;
        continue;
      }
      this.link.sendNow(packBatch(frames.slice(start, end), bytes), fanOut(dones.slice(start, end)));
      start = end;
    }
  }

  /** One message alone: packed while the connection takes batches (`limit` > 0), else (or if it must) as it is. */
  private sendOne(frames: Frame[], done: Done, limit: number | undefined): void {
    this.link.sendNow(limit && !travelsAlone(frames) ? packLeading(frames, limit) : frames, done);
  }
}

function fanOut(dones: Done[]): Done {
  if (!dones.some((d) => d !== undefined)) return undefined;
  return (err) => {
    for (const d of dones) d?.(err);
  };
}
