import { readFile, writeFile } from "node:fs/promises";
import { fromHex, toHex } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import { validateKeyPair, type KeyPair } from "./keys.js";

/** Key files are JSON: `{"publicKey": "<64 hex>", "secretKey": "<64 hex>"}`, written with mode 0600. */
export async function writeKeyFile(path: string, keys: KeyPair): Promise<void> {
  const body = JSON.stringify({ publicKey: toHex(keys.publicKey), secretKey: toHex(keys.secretKey) }, null, 2);
  await writeFile(path, body + "\n", { mode: 0o600 });
}

export async function readKeyFile(path: string): Promise<KeyPair> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new OmqError(
      "INVALID_KEY",
      `cannot read key file ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const { publicKey, secretKey } = (parsed ?? {}) as { publicKey?: unknown; secretKey?: unknown };
  if (
    typeof publicKey !== "string" ||
    typeof secretKey !== "string" ||
    publicKey.length !== 64 ||
    secretKey.length !== 64
  )
    throw new OmqError("INVALID_KEY", `key file ${path} must hold "publicKey" and "secretKey" as 64 hex characters`);
  const keys = { publicKey: fromHex(publicKey), secretKey: fromHex(secretKey) };
  await validateKeyPair(keys.publicKey, keys.secretKey);
  return keys;
}
