import { OmqError } from "../base/errors.js";
import { decodeBt, encodeBt, type Codec } from "../wire/codec.js";
import type { Frame } from "../wire/frames.js";
import type { Access } from "../auth/access.js";

/** Typed commands' payloads (docs/typed-api.md): descriptors that generated code holds, and their framing. */

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

export function encode<T>(encoding: Encoding, codec: Codec<T>, value: T, path: string): Frame[] {
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

export function decode<T>(encoding: Encoding, codec: Codec<T>, frames: Buffer[], path: string): T {
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
