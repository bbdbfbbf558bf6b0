import { OmqError } from "./errors.js";

/**
 * bt-encoding (bencode as OxenMQ uses it): integers, byte strings, lists, dictionaries with sorted keys.
 *
 * We encode and decode ourselves instead of with the `bencode` package, which silently drops bigint values,
 * truncates integers beyond 2^53 on decode and accepts non-canonical input; typed payloads need all three right.
 * The tests use `bencode` as an independent oracle for the wire format.
 */
export type BtValue = number | bigint | Uint8Array | BtValue[] | BtDict;
export interface BtDict {
  [key: string]: BtValue;
}

const MAX_DEPTH = 64;
const enc = new TextEncoder();

const fail = (msg: string): OmqError => new OmqError("INVALID_ARGUMENT", `invalid bt-encoded data: ${msg}`);

export function btEncode(value: BtValue): Buffer {
  const parts: Uint8Array[] = [];
  encodeInto(value, parts, 0);
  return Buffer.concat(parts);
}

function encodeInto(v: BtValue, out: Uint8Array[], depth: number): void {
  if (depth > MAX_DEPTH) throw new OmqError("INVALID_ARGUMENT", "bt value nested too deeply");
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new OmqError("INVALID_ARGUMENT", `bt integers must be safe integers, got ${v}`);
    out.push(enc.encode(`i${v}e`));
  } else if (typeof v === "bigint") {
    out.push(enc.encode(`i${v}e`));
  } else if (v instanceof Uint8Array) {
    out.push(enc.encode(`${v.length}:`), v);
  } else if (Array.isArray(v)) {
    out.push(enc.encode("l"));
    for (const x of v) encodeInto(x, out, depth + 1);
    out.push(enc.encode("e"));
  } else {
    out.push(enc.encode("d"));
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .map((k) => [k, Buffer.from(k)] as const)
      .sort((a, b) => Buffer.compare(a[1], b[1]));
    for (const [k, kb] of keys) {
      out.push(enc.encode(`${kb.length}:`), kb);
      encodeInto(v[k]!, out, depth + 1);
    }
    out.push(enc.encode("e"));
  }
}

/** Strict decode: canonical integers, sorted unique dict keys, no trailing data. Integers beyond 2^53 become bigint. */
export function btDecode(data: Uint8Array): BtValue {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const state = { pos: 0 };
  const v = decodeAt(buf, state, 0);
  if (state.pos !== buf.length) throw fail(`${buf.length - state.pos} trailing bytes`);
  return v;
}

function decodeAt(buf: Buffer, s: { pos: number }, depth: number): BtValue {
  if (depth > MAX_DEPTH) throw fail("nested too deeply");
  const c = buf[s.pos];
  if (c === undefined) throw fail("unexpected end");
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65, s.pos + 1);
    if (end < 0) throw fail("unterminated integer");
    const text = buf.toString("latin1", s.pos + 1, end);
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw fail(`bad integer '${text}'`);
    s.pos = end + 1;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  if (c === 0x6c /* l */) {
    s.pos++;
    const list: BtValue[] = [];
    while (buf[s.pos] !== 0x65) list.push(decodeAt(buf, s, depth + 1));
    s.pos++;
    return list;
  }
  if (c === 0x64 /* d */) {
    s.pos++;
    const dict: BtDict = Object.create(null) as BtDict;
    let prev: Buffer | undefined;
    while (buf[s.pos] !== 0x65) {
      if (buf[s.pos] === undefined) throw fail("unterminated dict");
      const key = decodeString(buf, s);
      if (prev && Buffer.compare(prev, key) >= 0) throw fail("dict keys not sorted or duplicated");
      prev = key;
      dict[key.toString("utf8")] = decodeAt(buf, s, depth + 1);
    }
    s.pos++;
    return dict;
  }
  if (c >= 0x30 && c <= 0x39) return decodeString(buf, s);
  throw fail(`unexpected byte 0x${c.toString(16)} at ${s.pos}`);
}

function decodeString(buf: Buffer, s: { pos: number }): Buffer {
  const colon = buf.indexOf(0x3a, s.pos);
  if (colon < 0 || colon - s.pos > 10) throw fail("bad string length");
  const text = buf.toString("latin1", s.pos, colon);
  if (!/^(0|[1-9][0-9]*)$/.test(text)) throw fail(`bad string length '${text}'`);
  const len = Number(text);
  const start = colon + 1;
  if (start + len > buf.length) throw fail("string runs past the end");
  s.pos = start + len;
  return buf.subarray(start, start + len);
}
