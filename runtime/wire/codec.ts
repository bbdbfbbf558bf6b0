import { BtReader, BtWriter } from "./bt.js";
import { OmqError } from "../base/errors.js";

/**
 * Typed codecs used by generated code: each writes a typed value as bt straight into a `BtWriter` and reads it back
 * from a `BtReader` (no intermediate bt value), converts it to and from its JSON form, and validates both ways.
 * Errors name the path of the offending value (`args.items[2].name: expected string`).
 */
export interface Codec<T> {
  /** TypeScript-ish name of the type, for error messages. */
  readonly name: string;
  writeBt(this: void, w: BtWriter, value: T, path: string): void;
  readBt(this: void, r: BtReader, path: string): T;
  toJson(this: void, value: T, path: string): unknown;
  fromJson(this: void, value: unknown, path: string): T;
}

/** A missing bt payload reads as an empty dict. */
const EMPTY_DICT = Buffer.from("de");

/** Encodes `value` as one bt message (validating it; errors name `path`). */
export function encodeBt<T>(codec: Codec<T>, value: T, path: string): Buffer {
  const w = BtWriter.start();
  codec.writeBt(w, value, path);
  return w.finish();
}

/** Decodes and validates one bt message (`undefined`: no payload, read as an empty dict). */
/**
 * Decodes one bt payload. No payload frame, or an empty one (C++ callers often send `""` for "no arguments"; it is
 * never valid bencode), reads as an empty dict: fine for `void` and all-optional objects, a clear error otherwise.
 */
export function decodeBt<T>(codec: Codec<T>, data: Uint8Array | undefined, path: string): T {
  const r = new BtReader(data?.length ? data : EMPTY_DICT);
  const v = codec.readBt(r, path);
  r.finish();
  return v;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "list";
  return typeof v === "object" ? "object" : typeof v;
}

export function invalid(path: string, expected: string, got: unknown): OmqError {
  return new OmqError("INVALID_ARGUMENT", `${path}: expected ${expected}, got ${kind(got)}`);
}

/** A bt value of the wrong kind at `r.pos`: reads it (for its kind) and fails. */
function wrongKind(r: BtReader, path: string, expected: string): OmqError {
  return invalid(path, expected, r.value());
}

const I = 0x69;
const L = 0x6c;
const D = 0x64;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

function readInteger(r: BtReader, p: string): number | bigint {
  if (r.peek() !== I) throw wrongKind(r, p, "integer");
  return r.integer();
}

export const string: Codec<string> = {
  name: "string",
  writeBt: (w, v, p) => {
    if (typeof v !== "string") throw invalid(p, "string", v);
    w.string(v);
  },
  readBt: (r, p) => {
    if (!isDigit(r.peek())) throw wrongKind(r, p, "string");
    const s = r.utf8();
    if (s === undefined)
      throw new OmqError("INVALID_ARGUMENT", `${p}: expected a UTF-8 string, got invalid UTF-8 bytes`);
    return s;
  },
  toJson: (v, p) => {
    if (typeof v !== "string") throw invalid(p, "string", v);
    return v;
  },
  fromJson: (v, p) => {
    if (typeof v !== "string") throw invalid(p, "string", v);
    return v;
  },
};

function checkInt(v: unknown, p: string): number {
  if (typeof v !== "number") throw invalid(p, "integer", v);
  if (!Number.isSafeInteger(v)) throw new OmqError("INVALID_ARGUMENT", `${p}: expected a safe integer, got ${v}`);
  return v;
}

function readBoolean(r: BtReader, p: string): boolean {
  const start = r.pos;
  if (r.peek() === I) {
    const v = r.integer();
    if (v === 0 || v === 1) return v === 1;
  }
  r.pos = start;
  throw wrongKind(r, p, "boolean (0 or 1)");
}

/** `number` in schemas: a safe integer (bt has no floats); non-integers are rejected, never rounded. */
export const int: Codec<number> = {
  name: "number",
  writeBt: (w, v, p) => w.integer(checkInt(v, p)),
  readBt: (r, p) => checkInt(readInteger(r, p), p),
  toJson: checkInt,
  fromJson: checkInt,
};

/** `bigint` in schemas: any integer; JSON carries it as a decimal string. */
export const bigint: Codec<bigint> = {
  name: "bigint",
  writeBt: (w, v, p) => {
    if (typeof v !== "bigint") throw invalid(p, "bigint", v);
    w.integer(v);
  },
  readBt: (r, p) => BigInt(readInteger(r, p)),
  toJson: (v, p) => {
    if (typeof v !== "bigint") throw invalid(p, "bigint", v);
    return v.toString();
  },
  fromJson: (v, p) => {
    if (typeof v === "string" && /^-?[0-9]+$/.test(v)) return BigInt(v);
    if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
    throw invalid(p, "integer string", v);
  },
};

/** `boolean`: bt integer 0 or 1 (as Oxen services encode flags). */
export const boolean: Codec<boolean> = {
  name: "boolean",
  writeBt: (w, v, p) => {
    if (typeof v !== "boolean") throw invalid(p, "boolean", v);
    w.integer(v ? 1 : 0);
  },
  readBt: readBoolean,
  toJson: (v, p) => {
    if (typeof v !== "boolean") throw invalid(p, "boolean", v);
    return v;
  },
  fromJson: (v, p) => {
    if (typeof v !== "boolean") throw invalid(p, "boolean", v);
    return v;
  },
};

/** `Uint8Array`: a bt byte string; JSON carries it as hex. */
export const bytes: Codec<Uint8Array> = {
  name: "Uint8Array",
  writeBt: (w, v, p) => {
    if (!(v instanceof Uint8Array)) throw invalid(p, "Uint8Array", v);
    w.bytes(v);
  },
  readBt: (r, p) => {
    if (!isDigit(r.peek())) throw wrongKind(r, p, "bytes");
    const v = r.bytes();
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength); // a plain view (not a Buffer), no copy
  },
  toJson: (v, p) => {
    if (!(v instanceof Uint8Array)) throw invalid(p, "Uint8Array", v);
    return Buffer.from(v).toString("hex");
  },
  fromJson: (v, p) => {
    if (typeof v !== "string" || !/^([0-9a-fA-F]{2})*$/.test(v)) throw invalid(p, "hex string", v);
    return new Uint8Array(Buffer.from(v, "hex"));
  },
};

/** A union of string literals. */
export function literals<const T extends string>(...values: T[]): Codec<T> {
  const set = new Set<string>(values);
  const name = values.map((v) => JSON.stringify(v)).join(" | ");
  const check = (s: string, p: string): T => {
    if (!set.has(s)) throw new OmqError("INVALID_ARGUMENT", `${p}: expected ${name}, got ${JSON.stringify(s)}`);
    return s as T;
  };
  return {
    name,
    writeBt: (w, v, p) => string.writeBt(w, check(v, p), p),
    readBt: (r, p) => check(string.readBt(r, p), p),
    toJson: (v, p) => check(string.fromJson(v, p), p),
    fromJson: (v, p) => check(string.fromJson(v, p), p),
  };
}

export function array<T>(element: Codec<T>): Codec<T[]> {
  const each = <I, O>(v: unknown, p: string, f: (x: I, p: string) => O): O[] => {
    if (!Array.isArray(v)) throw invalid(p, `${element.name}[]`, v);
    return (v as I[]).map((x, i) => f(x, `${p}[${i}]`));
  };
  return {
    name: `${element.name}[]`,
    writeBt: (w, v, p) => {
      if (!Array.isArray(v)) throw invalid(p, `${element.name}[]`, v);
      w.list();
      for (let i = 0; i < v.length; i++) element.writeBt(w, v[i] as T, `${p}[${i}]`);
      w.end();
    },
    readBt: (r, p) => {
      if (r.peek() !== L) throw wrongKind(r, p, `${element.name}[]`);
      r.enter();
      const out: T[] = [];
      while (r.more()) out.push(element.readBt(r, `${p}[${out.length}]`));
      return out;
    },
    toJson: (v, p) => each(v, p, element.toJson),
    fromJson: (v, p) => each(v, p, element.fromJson),
  };
}

export interface Field {
  readonly codec: Codec<unknown>;
  readonly optional: boolean;
}
export const field = <T>(codec: Codec<T>): Field => ({ codec: codec, optional: false });
export const optional = <T>(codec: Codec<T>): Field => ({ codec: codec, optional: true });

/** A record with named fields; unknown fields in input are ignored (forward compatibility), missing required ones fail. */
export function object<T>(name: string, fields: Record<string, Field>): Codec<T> {
  const entries = Object.entries(fields);
  // bt order of the keys, computed once: encoding then needs no sorting or key conversion per message.
  const ordered = entries
    .map(([k, f]) => ({ key: k, bytes: Buffer.from(k), field: f }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
  const missing = (p: string, key: string): OmqError =>
    new OmqError("INVALID_ARGUMENT", `${p}: missing required field '${key}'`);
  const convert = (v: unknown, p: string, dir: "toJson" | "fromJson"): Record<string, unknown> => {
    if (!isRecord(v)) throw invalid(p, name, v);
    const out: Record<string, unknown> = dir === "fromJson" ? {} : (Object.create(null) as Record<string, unknown>);
    for (const [key, f] of entries) {
      const x = v[key];
      if (x === undefined) {
        if (!f.optional) throw missing(p, key);
        continue;
      }
      out[key] = f.codec[dir](x, `${p}.${key}`);
    }
    return out;
  };
  const writeBt = (w: BtWriter, v: unknown, p: string): void => {
    if (!isRecord(v)) throw invalid(p, name, v);
    w.dict();
    for (const o of ordered) {
      const x = v[o.key];
      if (x === undefined) {
        if (!o.field.optional) throw missing(p, o.key);
        continue;
      }
      w.bytes(o.bytes);
      o.field.codec.writeBt(w, x, `${p}.${o.key}`);
    }
    w.end();
  };
  // The input's keys are sorted (the reader enforces it), and so are ours: one merge pass matches them.
  const readBt = (r: BtReader, p: string): T => {
    if (r.peek() !== D) throw wrongKind(r, p, name);
    r.enter();
    const out: Record<string, unknown> = {};
    let next = 0;
    let prevStart = -1;
    let prevEnd = -1;
    while (r.more()) {
      const start = r.key(prevStart, prevEnd);
      prevStart = start;
      prevEnd = r.pos;
      let c = 1;
      while (next < ordered.length && (c = r.compareKey(start, prevEnd, ordered[next]!.bytes)) > 0) next++;
      if (c === 0) {
        const o = ordered[next++]!;
        out[o.key] = o.field.codec.readBt(r, `${p}.${o.key}`);
      } else r.value(); // a field we do not know: skipped
    }
    for (const [key, f] of entries) if (!f.optional && out[key] === undefined) throw missing(p, key);
    return out as T;
  };
  return {
    name,
    writeBt,
    readBt,
    toJson: (v, p) => convert(v, p, "toJson"),
    fromJson: (v, p) => convert(v, p, "fromJson") as T,
  };
}

/** A reference to a named codec defined later (or recursively). */
export function lazy<T>(name: string, get: () => Codec<T>): Codec<T> {
  return {
    name,
    writeBt: (w, v, p) => get().writeBt(w, v, p),
    readBt: (r, p) => get().readBt(r, p),
    toJson: (v, p) => get().toJson(v, p),
    fromJson: (v, p) => get().fromJson(v, p),
  };
}

/** No payload (a command without arguments, a request without a result): an empty dict / `{}`. */
export const empty: Codec<void> = {
  name: "void",
  writeBt: (w) => {
    w.dict();
    w.end();
  },
  readBt: (r) => {
    r.value(); // anything is accepted, as no payload is expected
  },
  toJson: () => ({}),
  fromJson: () => undefined,
};

/** Raw data frames (commands with `encoding: "raw"` pass them through untouched; this codec only checks the shape). */
export const frames: Codec<Uint8Array[]> = { ...array(bytes), name: "Frames" };
