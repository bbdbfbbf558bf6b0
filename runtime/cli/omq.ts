#!/usr/bin/env node
import { parseArgs } from "node:util";
import { Address } from "../address.js";
import { toBase32z, toHex } from "../encoding.js";
import { OmqError } from "../errors.js";
import { generateKeyPair } from "../keys.js";
import { readKeyFile, writeKeyFile } from "../keyfile.js";
import { consoleLogger } from "../log.js";
import { OxenMQ } from "../oxenmq.js";

const USAGE = `Usage:
  omq keygen [--out FILE]                         write a key pair file (default omq.key); print the public key
  omq request ADDRESS COMMAND [DATA...] [options] send a request, print the reply frames (one per line)
  omq send ADDRESS COMMAND [DATA...] [options]    send a command

ADDRESS is any OxenMQ address: tcp://HOST:PORT, curve://HOST:PORT/PUBKEY, ipc://PATH, ipc+curve://PATH/PUBKEY, ...
Options:
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
    if (verb === "send") {
      await new Promise<void>((resolve, reject) => {
        omq.send(conn, command, data, { queueFailure: reject });
        // A follow-up job runs after the send was handed to zmq; linger then delivers it before exit.
        setImmediate(resolve);
      });
      return 0;
    }
    const reply = await omq.request(conn, command, data, timeout !== undefined ? { timeout } : {});
    for (const frame of reply)
      process.stdout.write((values.hex || !printable(frame) ? frame.toString("hex") : frame.toString()) + "\n");
    return 0;
  } finally {
    await omq.close({ timeout: 1000 });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof OmqError)
      process.stderr.write(`${err.code}${err.message !== err.code ? `: ${err.message}` : ""}\n`);
    else process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
