import { parseArgs } from "node:util";
import {
  Address,
  OmqError,
  OxenMQ,
  consoleLogger,
  readKeyFile,
  toBase32z,
  toHex,
  writeKeyFile,
  generateKeyPair,
  type AuthLevel,
} from "../runtime/index.js";
import { registerDemoCategories } from "./server-categories.js";

const say = (s: string): void => void process.stdout.write(s + "\n");

/** One process, a real server and a real client on loopback over CURVE. */
async function demo(): Promise<void> {
  const server = await OxenMQ.create();
  registerDemoCategories(server);
  const client = await OxenMQ.create();
  let pong: (v: string) => void = () => {};
  const gotPong = new Promise<string>((r) => (pong = r));
  client.addCategory("client", "none").addCommand("pong", (m) => pong(m.data[0]?.toString() ?? ""));
  const clientKey = toHex(client.publicKey);
  // The server's allow callback: our client's key gets "basic", everyone else "none".
  const endpoint = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (ip, pk): AuthLevel => (toHex(pk) === clientKey ? "basic" : "none"),
  });
  await server.start();
  await client.start();
  const address = new Address(await endpoint, server.publicKey);
  say(`server listening on ${address.fullAddress()}`);

  const conn = await client.connectRemote(address);
  say(`client connected (server key ${toBase32z(conn.pubkey)})`);
  const show = async (label: string, call: () => Promise<Buffer[]>): Promise<void> => {
    try {
      say(`${label} → reply ${JSON.stringify((await call()).map((b) => b.toString()))}`);
    } catch (err) {
      say(`${label} → ${err instanceof OmqError ? `error ${err.code}` : String(err)}`);
    }
  };
  await show("request public.hello [demo]", () => client.request(conn, "public.hello", ["demo"]));
  await show("request hello (alias) [alias]", () => client.request(conn, "hello", ["alias"]));
  await show("request public.echo [a, b]", () => client.request(conn, "public.echo", ["a", "b"]));
  await show("request members.whoami (basic)", () => client.request(conn, "members.whoami"));
  await show("request admin.stats (admin)", () => client.request(conn, "admin.stats"));
  await show("request public.nosuch", () => client.request(conn, "public.nosuch"));
  client.send(conn, "public.ping");
  say(`command public.ping → server sent back client.pong ${await gotPong}`);
  await client.close();
  await server.close();
  say("done");
}

/** Keeps a demo server running on the given addresses. */
async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plain: { type: "string", multiple: true, default: [] },
      curve: { type: "string", multiple: true, default: [] },
      "key-file": { type: "string" },
      "admin-key": { type: "string", multiple: true, default: [] },
      "plain-level": { type: "string", default: "none" },
      verbose: { type: "boolean", default: false },
    },
  });
  let keys = {};
  if (values["key-file"]) {
    try {
      keys = await readKeyFile(values["key-file"]);
    } catch {
      const fresh = await generateKeyPair();
      await writeKeyFile(values["key-file"], fresh);
      keys = fresh;
      say(`wrote a new key pair to ${values["key-file"]}`);
    }
  }
  const admins = new Set(values["admin-key"].map((k) => k.toLowerCase()));
  const server = await OxenMQ.create({ ...keys, logger: consoleLogger, logLevel: values.verbose ? "debug" : "info" });
  registerDemoCategories(server);
  const plainLevel = values["plain-level"] as AuthLevel;
  const bound = [
    ...values.plain.map((a) => server.listenPlain(a, { level: plainLevel })),
    ...values.curve.map((a) =>
      server.listenCurve(a, { allow: (_ip, pk): AuthLevel => (admins.has(toHex(pk)) ? "admin" : "basic") }),
    ),
  ];
  if (!bound.length) throw new Error("give at least one --plain or --curve address");
  await server.start();
  say(`public key: ${toHex(server.publicKey)}`);
  for (const [i, p] of bound.entries()) {
    const ep = await p;
    say(i < values.plain.length ? `plain: ${ep}` : `curve: ${new Address(ep, server.publicKey).fullAddress("hex")}`);
  }
  say("serving; Ctrl-C to stop");
  await new Promise<void>((resolve) => process.once("SIGINT", resolve).once("SIGTERM", resolve));
  await server.close();
}

const [mode, ...rest] = process.argv.slice(2);
(mode === "serve" ? serve(rest) : demo()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
