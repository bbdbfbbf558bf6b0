#!/usr/bin/env node
import { parseArgs } from "node:util";
import { Address } from "../net/address.js";
import { toBase32z, toHex } from "../base/encoding.js";
import { OmqError } from "../base/errors.js";
import { generateKeyPair } from "../auth/keys.js";
import { readKeyFile, writeKeyFile } from "../auth/keyfile.js";
import { consoleLogger } from "../base/log.js";
import { btDecode, btEncode, type BtValue } from "../wire/bt.js";
import { OxenMQ } from "../oxenmq.js";
import { RpcError } from "../rpc/status.js";

const USAGE = `Usage:
  omq keygen [--out FILE]                         write a key pair file (default omq.key); print the public key
  omq request ADDRESS COMMAND [DATA...] [options] send a request, print the reply frames (one per line)
  omq send ADDRESS COMMAND [DATA...] [options]    send a command

ADDRESS is any OxenMQ address: tcp://HOST:PORT, curve://HOST:PORT/PUBKEY, ipc://PATH, ipc+curve://PATH/PUBKEY, ...
A reply with a status other than 200 (with --json or --status), or an error word, exits 1 and prints it on stderr.
Options:
  --json            typed commands: DATA is one JSON value, sent bt-encoded (a string like "123n" is a bigint,
                    true/false are 1/0); the reply is read status first and its payload printed as JSON
  --status          the reply is status first (as typed commands answer): print the frames after a 200
  --timeout MS      request / connect timeout (default 15000 / 10000)
  --key-file FILE   use this key pair instead of a fresh one (the server sees its public key)
  --hex             print every reply frame as hex (default: text when printable, hex otherwise)
  --verbose         log at debug level to stderr`;

function printable(b: Buffer): boolean {
  const s = b.toString("utf8");
  return Buffer.from(s, "utf8").equals(b) && !/[\x00-\x08\x0b-\x1f\x7f]/.test(s);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      timeout: { type: "string" },
      "key-file": { type: "string" },
      hex: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      status: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [verb, address, command, ...data] = positionals;
  if (values.help || !verb) {
    process.stdout.write(USAGE + "\n");
    return verb || values.help ? 0 : 2;
  }
  if (verb === "keygen") {
    const keys = await generateKeyPair();
    const out = values.out ?? "omq.key";
    await writeKeyFile(out, keys);
    process.stdout.write(
      `wrote ${out}\npublic key (hex):     ${toHex(keys.publicKey)}\npublic key (base32z): ${toBase32z(keys.publicKey)}\n`,
    );
    return 0;
  }
  if ((verb !== "request" && verb !== "send") || !address || !command) {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  const timeout = values.timeout !== undefined ? Number(values.timeout) : undefined;
  if (timeout !== undefined && !(timeout > 0))
    throw new OmqError("INVALID_ARGUMENT", `--timeout must be a positive number`);
  const addr = new Address(address);
  const keys = values["key-file"] ? await readKeyFile(values["key-file"]) : {};
  const omq = await OxenMQ.create({
    ...keys,
    logger: consoleLogger,
    logLevel: values.verbose ? "debug" : "error",
    closeLinger: 1000,
  });
  await omq.start();
  try {
    const conn = await omq.connectRemote(addr, timeout !== undefined ? { timeout } : {});
    const frames = values.json ? jsonArgs(data) : data;
    if (verb === "send") {
      await new Promise<void>((resolve, reject) => {
        omq.send(conn, command, frames, { queueFailure: reject });
        // A follow-up job runs after the send was handed to zmq; linger then delivers it before exit.
        setImmediate(resolve);
      });
      return 0;
    }
    const reply = await omq.request(conn, command, frames, {
      ...(timeout !== undefined ? { timeout } : {}),
      statusFirst: values.json || values.status,
    });
    if (values.json) {
      if (reply.length > 1) throw new OmqError("BAD_REPLY", `expected one bt payload frame, got ${reply.length}`);
      process.stdout.write(reply.length ? `${toJson(btDecode(reply[0]!))}\n` : "");
      return 0;
    }
    for (const frame of reply)
      process.stdout.write((values.hex || !printable(frame) ? frame.toString("hex") : frame.toString()) + "\n");
    return 0;
  } finally {
    await omq.close({ timeout: 1000 });
  }
}

/** `--json` arguments: at most one JSON value, bt-encoded into one frame (none for no arguments). */
function jsonArgs(data: string[]): Buffer[] {
  if (data.length > 1) throw new OmqError("INVALID_ARGUMENT", "--json takes one JSON value (quote it for the shell)");
  if (data.length === 0) return [];
  let value: unknown;
  try {
    value = JSON.parse(data[0]!);
  } catch (err) {
    throw new OmqError("INVALID_ARGUMENT", `--json: ${err instanceof Error ? err.message : String(err)}`);
  }
  return [btEncode(toBt(value, "args"))];
}

function toBt(v: unknown, path: string): BtValue {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v))
      throw new OmqError("INVALID_ARGUMENT", `${path}: ${v} is not a safe integer (write big ones as "123n")`);
    return v;
  }
  if (typeof v === "string") return /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v;
  if (Array.isArray(v)) return v.map((x, i) => toBt(x, `${path}[${i}]`));
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBt(x, `${path}.${k}`)]));
  throw new OmqError("INVALID_ARGUMENT", `${path}: ${String(v)} has no bt encoding`);
}

/** bt as JSON: byte strings as text when they are printable UTF-8, else as "0x…"; big integers as bare numbers. */
function toJson(v: BtValue, indent = ""): string {
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array) {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return JSON.stringify(printable(b) ? b.toString() : `0x${b.toString("hex")}`);
  }
  const inner = `${indent}  `;
  if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => inner + toJson(x, inner)).join(",\n")}\n${indent}]` : "[]";
  const entries = Object.entries(v);
  return entries.length
    ? `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${toJson(x, inner)}`).join(",\n")}\n${indent}}`
    : "{}";
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof RpcError) process.stderr.write(`${err.status} ${err.message}\n`);
    else if (err instanceof OmqError)
      process.stderr.write(`${err.code}${err.message !== err.code ? `: ${err.message}` : ""}\n`);
    else process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
