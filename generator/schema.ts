/**
 * The schema language. A schema file declares categories with `category(...)` and their commands with `request<Args,
 * Result>()` and `command<Args>()`; argument and result types are ordinary TypeScript types. omq-gen reads schema
 * files with the TypeScript compiler and never runs them; these functions exist so that editors type-check schemas.
 *
 * @example
 * export interface Point { x: number; y: number }
 * /** Geometry helpers. *\/
 * export const geo = category("geo", {
 *   access: "basic",
 *   commands: {
 *     /** Distance between two points. *\/
 *     distance: request<{ a: Point; b: Point }, number>(),
 *     log: command<{ line: string }>({ aliases: ["geolog"] }),
 *   },
 * });
 *
 * Supported types: `string` (UTF-8), `number` (a safe integer: non-integers are rejected, never rounded), `bigint`,
 * `boolean`, `Uint8Array`, unions of string literals, arrays, objects with optional fields, and named interfaces or type
 * aliases declared in schema files. `void` means "no arguments" / "no result". With `encoding: "raw"`, arguments and
 * result are `Frames` (the message's data frames as they are).
 *
 * @module @oxenmq-ts/codegen/schema
 */

export type AuthLevelName = "none" | "basic" | "admin";

export interface AccessSpec {
  readonly auth?: AuthLevelName;
  /** Only proven, active service nodes may call. */
  readonly remoteSN?: boolean;
  /** Only served while this instance runs in service-node mode. */
  readonly localSN?: boolean;
}

export interface CommandOptions {
  /** "bt" (default): one bt-encoded frame; "json": one JSON frame; "raw": data frames as they are. */
  readonly encoding?: "bt" | "json" | "raw";
  /** Other names that reach this command (for renamed commands). */
  readonly aliases?: readonly string[];
}

/** Raw data frames, for commands with `encoding: "raw"`. */
export type Frames = Uint8Array[];

export interface RequestDef<A, R> {
  readonly kind: "request";
  readonly __types?: [A, R];
}

export interface CommandDef<A> {
  readonly kind: "command";
  readonly __types?: [A];
}

export interface CategorySpec<C> {
  readonly access?: AuthLevelName | AccessSpec;
  /** Slots reserved for this category (default 0). */
  readonly reservedThreads?: number;
  /** Commands that may wait for a slot (default 200; -1 unlimited; 0 never queue). */
  readonly maxQueue?: number;
  /**
   * The PascalCase base of the generated names (`<exportName>Client`, `register<exportName>`, ...); by default derived
   * from the category name ("hey google" → `HeyGoogle`). Use it when two names would clash, or to keep an API's names
   * when renaming a category.
   */
  readonly exportName?: string;
  readonly commands: C;
}

/** A request command: the caller waits for a result of type R. */
export function request<A = void, R = void>(_options?: CommandOptions): RequestDef<A, R> {
  return { kind: "request" };
}

/** A fire-and-forget command. */
export function command<A = void>(_options?: CommandOptions): CommandDef<A> {
  return { kind: "command" };
}

/** A category: a name (1 to 50 characters, no '.'), its access policy, scheduling limits and commands. */
export function category<const C extends Record<string, RequestDef<unknown, unknown> | CommandDef<unknown>>>(
  name: string,
  spec: CategorySpec<C>,
): { readonly name: string; readonly spec: CategorySpec<C> } {
  return { name, spec };
}
