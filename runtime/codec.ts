import { BtOrderedDict, type BtValue } from "./bt.js";
import { isUtf8 } from "node:buffer";
import { OmqError } from "./errors.js";

/**
 * Typed codecs used by generated code: each converts a typed value to/from its bt form and its JSON form, and
 * validates what it decodes. Errors name the path of the offending value (`args.items[2].name: expected string`).
 */
export interface Codec<T> {
  /** TypeScript-ish name of the type, for error messages. */
  readonly name: string;
  toBt(this: void, value: T, path: string): BtValue;
  fromBt(this: void, value: BtValue, path: string): T;
  toJson(this: void, value: T, path: string): unknown;
  fromJson(this: void, value: unknown, path: string): T;
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

export const string: Codec<string> = {
  name: "string",
  toBt: (v, p) => {
    if (typeof v !== "string") throw invalid(p, "string", v);
    return v; // the bt writer encodes it as UTF-8 in place
  },
  fromBt: (v, p) => {
    if (!(v instanceof Uint8Array)) throw invalid(p, "string", v);
    if (!isUtf8(v)) throw new OmqError("INVALID_ARGUMENT", `${p}: expected a UTF-8 string, got invalid UTF-8 bytes`);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8");
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

/** `number` in schemas: a safe integer (bt has no floats); non-integers are rejected, never rounded. */
export const int: Codec<number> = {
  name: "number",
  toBt: checkInt,
  fromBt: checkInt,
  toJson: checkInt,
  fromJson: checkInt,
};

/** `bigint` in schemas: any integer; JSON carries it as a decimal string. */
export const bigint: Codec<bigint> = {
  name: "bigint",
  toBt: (v, p) => {
    if (typeof v !== "bigint") throw invalid(p, "bigint", v);
    return v;
  },
  fromBt: (v, p) => {
    if (typeof v === "bigint") return v;
    if (typeof v === "number") return BigInt(v);
    throw invalid(p, "integer", v);
  },
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
  toBt: (v, p) => {
    if (typeof v !== "boolean") throw invalid(p, "boolean", v);
    return v ? 1 : 0;
  },
  fromBt: (v, p) => {
    if (v === 0 || v === 1) return v === 1;
    throw invalid(p, "boolean (0 or 1)", v);
  },
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
  toBt: (v, p) => {
    if (!(v instanceof Uint8Array)) throw invalid(p, "Uint8Array", v);
    return v;
  },
  fromBt: (v, p) => {
    if (!(v instanceof Uint8Array)) throw invalid(p, "bytes", v);
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
    toBt: (v, p) => string.toBt(check(v, p), p),
    fromBt: (v, p) => check(string.fromBt(v, p), p),
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
    toBt: (v, p) => each(v, p, element.toBt),
    fromBt: (v, p) => each(v, p, element.fromBt),
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
  const orderedKeys = ordered.map((o) => o.bytes);
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
  const convert = (v: unknown, p: string, dir: "toBt" | "fromBt" | "toJson" | "fromJson"): Record<string, unknown> => {
    if (!isRecord(v)) throw invalid(p, name, v);
    const out: Record<string, unknown> =
      dir === "fromBt" || dir === "fromJson" ? {} : (Object.create(null) as Record<string, unknown>);
    for (const [key, f] of entries) {
      const x = v[key];
      if (x === undefined) {
        if (!f.optional) throw new OmqError("INVALID_ARGUMENT", `${p}: missing required field '${key}'`);
        continue;
      }
      out[key] = (f.codec[dir] as (x: unknown, p: string) => unknown)(x, `${p}.${key}`);
    }
    return out;
  };
  const toBt = (v: unknown, p: string): BtValue => {
    if (!isRecord(v)) throw invalid(p, name, v);
    const values = new Array<BtValue | undefined>(ordered.length);
    for (let i = 0; i < ordered.length; i++) {
      const { key, field: f } = ordered[i]!;
      const x = v[key];
      if (x === undefined) {
        if (!f.optional) throw new OmqError("INVALID_ARGUMENT", `${p}: missing required field '${key}'`);
        continue;
      }
      values[i] = f.codec.toBt(x, `${p}.${key}`);
    }
    return new BtOrderedDict(orderedKeys, values);
  };
  return {
    name,
    toBt,
    fromBt: (v, p) => convert(v, p, "fromBt") as T,
    toJson: (v, p) => convert(v, p, "toJson"),
    fromJson: (v, p) => convert(v, p, "fromJson") as T,
  };
}

/** A reference to a named codec defined later (or recursively). */
export function lazy<T>(name: string, get: () => Codec<T>): Codec<T> {
  return {
    name,
    toBt: (v, p) => get().toBt(v, p),
    fromBt: (v, p) => get().fromBt(v, p),
    toJson: (v, p) => get().toJson(v, p),
    fromJson: (v, p) => get().fromJson(v, p),
  };
}

/** No payload (a command without arguments, a request without a result): an empty dict / `{}`. */
export const empty: Codec<void> = {
  name: "void",
  toBt: () => ({}),
  fromBt: () => undefined,
  toJson: () => ({}),
  fromJson: () => undefined,
};

/** Raw data frames (commands with `encoding: "raw"` pass them through untouched; this codec only checks the shape). */
export const frames: Codec<Uint8Array[]> = {
  name: "Frames",
  toBt: (v, p) => array(bytes).toBt(v, p),
  fromBt: (v, p) => array(bytes).fromBt(v, p),
  toJson: (v, p) => array(bytes).toJson(v, p),
  fromJson: (v, p) => array(bytes).fromJson(v, p),
};
