import { OmqError } from "./errors.js";

/**
 * bt-encoding (bencode as OxenMQ uses it): integers, byte strings, lists, dictionaries with sorted keys.
 *
 * We encode and decode ourselves instead of with the `bencode` package, which silently drops bigint values,
 * truncates integers beyond 2^53 on decode and accepts non-canonical input; typed payloads need all three right.
 * The tests use `bencode` as an independent oracle for the wire format.
 */
export type BtValue = number | bigint | Uint8Array | string | BtValue[] | BtDict | BtOrderedDict;
export interface BtDict {
  [key: string]: BtValue;
}

/**
 * A dict whose keys are already in bt order, as UTF-8 bytes (typed codecs precompute them once), so that encoding
 * needs no sorting and no key conversion per message. Encoding only; `undefined` values are skipped.
 */
export class BtOrderedDict {
  constructor(
    readonly keys: readonly Uint8Array[],
    readonly values: ReadonlyArray<BtValue | undefined>,
  ) {}
}

const MAX_DEPTH = 64;

const fail = (msg: string): OmqError => new OmqError("INVALID_ARGUMENT", `invalid bt-encoded data: ${msg}`);

/** Encodes into a reused scratch buffer and copies the result out once (the per-message path allocates little). */
export function btEncode(value: BtValue): Buffer {
  const w = new Writer();
  w.value(value, 0);
  return w.result();
}

let scratch = Buffer.allocUnsafe(4096);

class Writer {
  private pos = 0;

  result(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    scratch.copy(out, 0, 0, this.pos);
    return out;
  }

  private reserve(n: number): void {
    if (this.pos + n <= scratch.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, this.pos + n));
    scratch.copy(bigger, 0, 0, this.pos);
    scratch = bigger;
  }

  private ascii(s: string): void {
    this.reserve(s.length);
    this.pos += scratch.write(s, this.pos, "latin1");
  }

  private bytes(b: Uint8Array): void {
    this.ascii(`${b.length}:`);
    this.reserve(b.length);
    scratch.set(b, this.pos);
    this.pos += b.length;
  }

  private string(s: string): void {
    const n = Buffer.byteLength(s);
    this.ascii(`${n}:`);
    this.reserve(n);
    this.pos += scratch.write(s, this.pos, "utf8");
  }

  value(v: BtValue, depth: number): void {
    if (depth > MAX_DEPTH) throw new OmqError("INVALID_ARGUMENT", "bt value nested too deeply");
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v))
        throw new OmqError("INVALID_ARGUMENT", `bt integers must be safe integers, got ${v}`);
      this.ascii(`i${v}e`);
    } else if (typeof v === "bigint") {
      this.ascii(`i${v}e`);
    } else if (typeof v === "string") {
      this.string(v);
    } else if (v instanceof Uint8Array) {
      this.bytes(v);
    } else if (v instanceof BtOrderedDict) {
      this.ascii("d");
      for (let i = 0; i < v.keys.length; i++) {
        const x = v.values[i];
        if (x === undefined) continue;
        this.bytes(v.keys[i]!);
        this.value(x, depth + 1);
      }
      this.ascii("e");
    } else if (Array.isArray(v)) {
      this.ascii("l");
      for (const x of v) this.value(x, depth + 1);
      this.ascii("e");
    } else {
      this.ascii("d");
      for (const [key, kb] of sortedKeys(v)) {
        this.bytes(kb);
        this.value(v[key]!, depth + 1);
      }
      this.ascii("e");
    }
  }
}

/** Dict keys in bytewise order of their UTF-8 form (plain string order is the same for keys below U+D800). */
function sortedKeys(d: BtDict): Array<[string, Buffer]> {
  const keys = Object.keys(d).filter((k) => d[k] !== undefined);
  const pairs = keys.map((k): [string, Buffer] => [k, Buffer.from(k)]);
  if (keys.some((k) => /[\ud800-\uffff]/.test(k))) return pairs.sort((a, b) => Buffer.compare(a[1], b[1]));
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
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
    const start = s.pos + 1;
    const neg = buf[start] === 0x2d;
    const first = neg ? start + 1 : start;
    // Canonical: digits only, no leading zero (except "0" itself), no "-0".
    let ok = first < end && (buf[first] !== 0x30 || (end === first + 1 && !neg));
    let n = 0;
    for (let i = first; ok && i < end; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) ok = false;
      else n = n * 10 + d;
    }
    if (!ok) throw fail(`bad integer '${buf.toString("latin1", start, end)}'`);
    s.pos = end + 1;
    if (Number.isSafeInteger(n)) return neg ? -n : n;
    return BigInt(buf.toString("latin1", start, end));
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
  let len = 0;
  let i = s.pos;
  for (; i < buf.length && i - s.pos <= 10; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) break;
    len = len * 10 + d;
  }
  if (buf[i] !== 0x3a || i === s.pos || (buf[s.pos] === 0x30 && i > s.pos + 1))
    throw fail(
      i === s.pos || buf[i] !== 0x3a ? "bad string length" : `bad string length '${buf.toString("latin1", s.pos, i)}'`,
    );
  const colon = i;
  const start = colon + 1;
  if (start + len > buf.length) throw fail("string runs past the end");
  s.pos = start + len;
  return buf.subarray(start, start + len);
}
