import sodium from "libsodium-wrappers";
import { OmqError } from "./errors.js";

/** A 32-byte x25519 key pair, as `crypto_box_keypair` makes it. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const KEY_BYTES = 32;

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
