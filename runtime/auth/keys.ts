import sodium from "libsodium-wrappers";
import { OmqError } from "../base/errors.js";

/** A 32-byte x25519 key pair, as `crypto_box_keypair` makes it. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const KEY_BYTES = 32;

/**
 * Checks that a key argument is bytes, with a message that says what to do when it is not: keys are often at hand as
 * hex strings, and a string's `length` would otherwise make a confusing size error.
 */
export function keyBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") {
    const hint = /^[0-9a-fA-F]{64}$/.test(value)
      ? `it looks like hex: pass fromHex("${value.slice(0, 8)}…")`
      : "decode it first (fromHex, fromBase32z or fromBase64)";
    throw new OmqError("INVALID_KEY", `${what} must be a Uint8Array of ${KEY_BYTES} bytes, not a string: ${hint}`);
  }
  const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
  throw new OmqError("INVALID_KEY", `${what} must be a Uint8Array of ${KEY_BYTES} bytes, got ${kind}`);
}

let ready: Promise<typeof sodium> | undefined;

/** libsodium's wasm must be initialised once per process; every crypto entry point awaits this. */
export function sodiumReady(): Promise<typeof sodium> {
  ready ??= sodium.ready.then(() => sodium);
  return ready;
}

/** The initialised libsodium; only valid after `sodiumReady()` resolved (the OxenMQ constructor path guarantees it). */
export function sodiumSync(): typeof sodium {
  return sodium;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const s = await sodiumReady();
  const kp = s.crypto_box_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/**
 * Checks sizes and that the public key is the x25519 public key of the secret key. An ed25519 key passed by mistake
 * fails here with a clear message rather than at the first handshake.
 */
export async function validateKeyPair(publicKey: Uint8Array, secretKey: Uint8Array): Promise<void> {
  keyBytes(publicKey, "publicKey");
  keyBytes(secretKey, "secretKey");
  if (publicKey.length !== KEY_BYTES)
    throw new OmqError("INVALID_KEY", `public key must be ${KEY_BYTES} bytes, got ${publicKey.length}`);
  if (secretKey.length !== KEY_BYTES)
    throw new OmqError(
      "INVALID_KEY",
      `secret key must be ${KEY_BYTES} bytes, got ${secretKey.length}` +
        (secretKey.length === 64 ? " (this looks like an ed25519 secret key; convert it to x25519 first)" : ""),
    );
  const s = await sodiumReady();
  const derived = s.crypto_scalarmult_base(secretKey);
  if (!s.memcmp(derived, publicKey))
    throw new OmqError("INVALID_KEY", "public key does not match the secret key (is one of them an ed25519 key?)");
}
