import { OmqError } from "./errors.js";

/**
 * Checks of numeric options at the API boundary. Each failure is an INVALID_ARGUMENT naming the option, so that a
 * `NaN` from an unset environment variable or a negative size never reaches a timer or a socket option, where it would
 * mean something else (a timer of NaN ms fires at once; libzmq reads -1 as "unlimited").
 */

const bad = (name: string, want: string, value: unknown): OmqError =>
  new OmqError("INVALID_ARGUMENT", `${name} must be ${want}, got ${describe(value)}`);

function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}

/** A finite number of milliseconds (any sign: a request timeout of 0 or less fails at once, as documented). */
export function finiteMs(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value)) throw bad(name, "a finite number of milliseconds", value);
}

/** A finite number of milliseconds, 0 or more. */
export function nonNegativeMs(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    throw bad(name, "a finite number of milliseconds, 0 or more", value);
}

/** A finite number of milliseconds, more than 0. */
export function positiveMs(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw bad(name, "a finite number of milliseconds, more than 0", value);
}

/** An integer of at least `min`. */
export function intAtLeast(value: number | undefined, min: number, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min)
    throw bad(name, `an integer >= ${min}`, value);
}

export function isBoolean(value: boolean | undefined, name: string): void {
  if (value !== undefined && typeof value !== "boolean") throw bad(name, "true or false", value);
}
