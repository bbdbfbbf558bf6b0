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

  /** A non-negative integer in decimal, then `suffix` (a length prefix "N:" without building a string). */
  private uint(n: number, suffix: number): void {
    this.reserve(17);
    if (n < 10) scratch[this.pos++] = 0x30 + n;
    else if (n < 100) {
      scratch[this.pos++] = 0x30 + Math.floor(n / 10);
      scratch[this.pos++] = 0x30 + (n % 10);
    } else this.pos += scratch.write(String(n), this.pos, "latin1");
    scratch[this.pos++] = suffix;
  }

  private bytes(b: Uint8Array): void {
    this.uint(b.length, 0x3a);
    this.reserve(b.length);
    scratch.set(b, this.pos);
    this.pos += b.length;
  }

  private string(s: string): void {
    const n = Buffer.byteLength(s);
    this.uint(n, 0x3a);
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
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const d = new Decoder(buf);
  const v = d.value(0);
  if (d.pos !== buf.length) throw fail(`${buf.length - d.pos} trailing bytes`);
  return v;
}

class Decoder {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  value(depth: number): BtValue {
    if (depth > MAX_DEPTH) throw fail("nested too deeply");
    const buf = this.buf;
    const c = buf[this.pos];
    if (c === undefined) throw fail("unexpected end");
    if (c === 0x69 /* i */) return this.integer();
    if (c === 0x6c /* l */) {
      this.pos++;
      const list: BtValue[] = [];
      while (buf[this.pos] !== 0x65) {
        if (buf[this.pos] === undefined) throw fail("unterminated list");
        list.push(this.value(depth + 1));
      }
      this.pos++;
      return list;
    }
    if (c === 0x64 /* d */) {
      this.pos++;
      const dict: BtDict = Object.create(null) as BtDict;
      let prevStart = -1;
      let prevEnd = -1;
      while (buf[this.pos] !== 0x65) {
        if (buf[this.pos] === undefined) throw fail("unterminated dict");
        const end = this.length();
        const start = this.pos;
        this.pos = end;
        if (prevStart >= 0 && buf.compare(buf, prevStart, prevEnd, start, end) <= 0)
          throw fail("dict keys not sorted or duplicated");
        prevStart = start;
        prevEnd = end;
        dict[buf.toString("utf8", start, end)] = this.value(depth + 1);
      }
      this.pos++;
      return dict;
    }
    if (c >= 0x30 && c <= 0x39) {
      const end = this.length();
      const start = this.pos;
      this.pos = end;
      return buf.subarray(start, end);
    }
    throw fail(`unexpected byte 0x${c.toString(16)} at ${this.pos}`);
  }

  private integer(): number | bigint {
    const buf = this.buf;
    const end = buf.indexOf(0x65, this.pos + 1);
    if (end < 0) throw fail("unterminated integer");
    const start = this.pos + 1;
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
    this.pos = end + 1;
    if (Number.isSafeInteger(n)) return neg ? -n : n;
    return BigInt(buf.toString("latin1", start, end));
  }

  /** Reads a string's "N:" prefix; leaves pos at the first byte of the string and returns where it ends. */
  private length(): number {
    const buf = this.buf;
    const from = this.pos;
    let len = 0;
    let i = from;
    for (; i < buf.length && i - from <= 10; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      len = len * 10 + d;
    }
    if (i === from || buf[i] !== 0x3a) throw fail("bad string length");
    if (buf[from] === 0x30 && i > from + 1) throw fail(`bad string length '${buf.toString("latin1", from, i)}'`);
    const start = i + 1;
    if (start + len > buf.length) throw fail("string runs past the end");
    this.pos = start;
    return start + len;
  }
}
