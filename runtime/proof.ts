import { randomBytes } from "node:crypto";
import { sodiumSync } from "./keys.js";

/**
 * Route proofs (reference §4.1). Our outgoing CURVE sockets use as routing id
 *
 *     0xA5 'P' ‖ client pubkey (32) ‖ nonce (24) ‖ crypto_box(CONTEXT, nonce, server pubkey, client secret key)
 *
 * It is unpredictable (random nonce), proves possession of the client's secret key, and is bound to the server's
 * key (only the server can open it) and to the route itself (the route *is* the proof). zmq sends the routing id
 * again inside the encrypted CURVE handshake on every reconnect, before any queued message, so a reconnect never
 * leaves a window in which our messages would arrive unproven. A C++ OxenMQ server ignores routing-id content.
 * The listener only accepts a proof while a ZAP approval of the same key is pending (see zap.ts): replaying
 * someone's routing id from another key finds no approval to consume.
 */
const MAGIC = [0xa5, 0x50] as const;
const CONTEXT = Buffer.from("oxenmq-ts route proof v1");
const PUB = 32;
const NONCE = 24;
const MAC = 16;
export const PROOF_ROUTE_BYTES = MAGIC.length + PUB + NONCE + MAC + CONTEXT.length;

export function makeProofRoute(clientPub: Uint8Array, clientSec: Uint8Array, serverPub: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const box = sodiumSync().crypto_box_easy(CONTEXT, nonce, serverPub, clientSec);
  return Buffer.concat([Buffer.from(MAGIC), clientPub, nonce, box]);
}

/** Returns the proven client pubkey, or undefined when `route` is not a valid proof for this server. */
export function verifyProofRoute(route: Uint8Array, serverSec: Uint8Array): Uint8Array | undefined {
  if (route.length !== PROOF_ROUTE_BYTES || route[0] !== MAGIC[0] || route[1] !== MAGIC[1]) return undefined;
  const pub = route.subarray(2, 2 + PUB);
  const nonce = route.subarray(2 + PUB, 2 + PUB + NONCE);
  const box = route.subarray(2 + PUB + NONCE);
  try {
    const opened = sodiumSync().crypto_box_open_easy(box, nonce, pub, serverSec);
    return Buffer.compare(opened, CONTEXT) === 0 ? Uint8Array.from(pub) : undefined;
  } catch {
    return undefined;
  }
}

/** A routing id for sockets that cannot prove anything (plain transport): 128 random bits, never starting with 0. */
export function randomRoute(): Buffer {
  return Buffer.concat([Buffer.from("r"), randomBytes(16)]);
}
