import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { runVoteRound } from "./network.js";
import {
  Address,
  OmqError,
  RpcError,
  OxenMQ,
  consoleLogger,
  readKeyFile,
  toBase32z,
  toHex,
  writeKeyFile,
  generateKeyPair,
  type AuthLevel,
} from "@oxenmq-ts/runtime";
import { registerDemoCategories } from "./server-categories.js";
import { registerNodeHandlers } from "./node-handlers.js";
import { BlinkClient, RpcClient, SnClient, SystemClient } from "../generated/node.js";

const say = (s: string): void => void process.stdout.write(s + "\n");

/** One process, a real server and a real client on loopback over CURVE, using the code generated from schemas/. */
async function demo(): Promise<void> {
  const server = await OxenMQ.create();
  registerNodeHandlers(server); // implementations of the generated handler interfaces
  registerDemoCategories(server); // a few untyped categories too
  const client = await OxenMQ.create();
  let pong: (v: string) => void = () => {};
  const gotPong = new Promise<string>((r) => (pong = r));
  client.addCategory("client", "none").addCommand("pong", (m) => pong(m.data[0]?.toString() ?? ""));
  const clientKey = toHex(client.publicKey);
  // The server's allow callback: our client's key gets "basic", everyone else "none".
  const endpoint = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (_ip, pk): AuthLevel => (toHex(pk) === clientKey ? "basic" : "none"),
  });
  await server.start();
  await client.start();
  const address = new Address(await endpoint, server.publicKey);
  say(`server listening on ${address.fullAddress()}`);

  const conn = await client.connectRemote(address);
  say(`client connected (server key ${toBase32z(conn.pubkey)})`);
  const show = async (label: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      say(
        `${label} → ${JSON.stringify(await call(), (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? toHex(v).slice(0, 16) + "…" : v))}`,
      );
    } catch (err) {
      say(
        `${label} → ${err instanceof RpcError ? `error ${err.status} ${err.message}` : err instanceof OmqError ? `error ${err.code}` : String(err)}`,
      );
    }
  };
  const rpc = new RpcClient(client, conn);
  say("-- typed calls (generated from schemas/node.ts) --");
  await show("rpc.info()", () => rpc.info());
  await show("rpc.headers({ from: 998, count: 2 })", () => rpc.headers({ from: 998, count: 2 }));
  await show("rpc.headers({ from: 999, count: 5 })", () => rpc.headers({ from: 999, count: 5 }));
  await show('rpc.echo({ text: "ab", times: 3 })', () => rpc.echo({ text: "ab", times: 3 }));
  await show("rpc.statusJson() (JSON encoding)", () => rpc.statusJson());
  await show('system.setLogLevel({ level: "info" }) (admin)', () =>
    new SystemClient(client, conn).setLogLevel({ level: "info" }),
  );
  await show("sn.vote(...) (service nodes only)", () =>
    new SnClient(client, conn).vote({ height: 1, hash: new Uint8Array(32), signature: new Uint8Array(64) }),
  );
  await show("blink.submit(...) (server not in SN mode)", () =>
    new BlinkClient(client, conn).submit({ tx: new Uint8Array(8) }),
  );
  await show('rpc.echo({ text: "x", times: 1.5 }) (rejected before sending)', () =>
    rpc.echo({ text: "x", times: 1.5 }),
  );
  say("-- untyped calls --");
  const frames = async (p: Promise<Buffer[]>): Promise<string[]> => (await p).map((b) => b.toString());
  await show("request public.hello [demo]", () => frames(client.request(conn, "public.hello", ["demo"])));
  await show("request hello (alias) [alias]", () => frames(client.request(conn, "hello", ["alias"])));
  await show("request members.whoami (basic)", () => frames(client.request(conn, "members.whoami")));
  await show("request public.nosuch", () => frames(client.request(conn, "public.nosuch")));
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
  registerNodeHandlers(server);
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

/** `network --nodes N`: the multi-node vote round of examples/network.ts. */
async function network(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { nodes: { type: "string", default: "10" } } });
  const n = Number(values.nodes);
  if (!Number.isInteger(n) || n < 2) throw new Error("--nodes must be an integer >= 2");
  say(`starting ${n} service nodes (separate processes) on loopback…`);
  const r = await runVoteRound(n);
  say(
    `${r.ok} of ${r.total} vote requests succeeded; the round took ${r.roundMs.toFixed(0)} ms (${availableParallelism()} cores)`,
  );
  if (r.ok !== r.total) process.exitCode = 1;
}

const [mode, ...rest] = process.argv.slice(2);
(mode === "serve" ? serve(rest) : mode === "network" ? network(rest) : demo()).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
