import { Router } from "zeromq";
import { generateKeyPair, OxenMQ, RpcError, toHex, toZ85 } from "@oxenmq-ts/runtime";
import { registerRpc } from "../../generated/node.js";
import {
  MOLECULER_SERVER_NODE,
  MOLECULER_SERVICE,
  PROTO,
  type Impl,
  type ServerCpu,
  type ServerRss,
  type Transport,
} from "./common.js";

/**
 * One echo server per process: `node server.js IMPL TRANSPORT`. Answers {type:"rss"} with its RSS after a GC and
 * {type:"cpu"} with its `process.cpuUsage()`.
 */
const [impl, transport] = process.argv.slice(2) as [Impl, Transport];

/** Moleculer's TCP transporter, JSON serializer, no UDP discovery: the client finds this node through its `urls`. */
async function moleculerServer(): Promise<string> {
  const { ServiceBroker } = (await import("moleculer")).default;
  const broker = new ServiceBroker({
    nodeID: MOLECULER_SERVER_NODE,
    logger: false,
    serializer: "JSON",
    transporter: { type: "TCP", options: { udpDiscovery: false, port: 0 } },
    skipProcessEventRegistration: true,
  });
  broker.createService({ name: MOLECULER_SERVICE, actions: { echo: (ctx) => ctx.params as unknown } });
  await broker.start();
  // The transporter listened on a port from the OS (on every interface: its TCP server takes no host) and noted it here.
  return `127.0.0.1:${broker.getLocalNodeInfo().port}`;
}

/** JSON-RPC 2.0 over HTTP/1.1: node:http, one POST per call, `params` echoed as the `result`. */
async function jsonRpcServer(): Promise<string> {
  const http = await import("node:http");
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; params: unknown };
      const body = JSON.stringify({ jsonrpc: "2.0", id: call.id, result: call.params });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  // Longer than a configuration's rounds leave a connection idle, so the pool does not reconnect within a run.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
}

/** tRPC v11 over WebSocket (ws): one `echo` query. */
async function trpcServer(): Promise<string> {
  const { WebSocketServer } = await import("ws");
  const { applyWSSHandler } = await import("@trpc/server/adapters/ws");
  const { echoRouter } = await import("./trpc.js");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  applyWSSHandler({ wss, router: echoRouter });
  return `127.0.0.1:${(wss.address() as import("node:net").AddressInfo).port}`;
}

async function start(): Promise<{ endpoint: string; pubkey: string }> {
  if (impl === "moleculer") return { endpoint: await moleculerServer(), pubkey: "" };
  if (impl === "jsonrpc") return { endpoint: await jsonRpcServer(), pubkey: "" };
  if (impl === "trpc") return { endpoint: await trpcServer(), pubkey: "" };
  if (impl === "grpc") {
    const grpc = await import("@grpc/grpc-js");
    const loader = await import("@grpc/proto-loader");
    const def = grpc.loadPackageDefinition(await loader.load(PROTO)) as unknown as {
      bench: { Echo: { service: import("@grpc/grpc-js").ServiceDefinition } };
    };
    const server = new grpc.Server();
    server.addService(def.bench.Echo.service, {
      Echo: (call: { request: unknown }, cb: (e: null, r: unknown) => void) => cb(null, call.request),
    });
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    return { endpoint: `127.0.0.1:${port}`, pubkey: "" };
  }
  if (impl === "raw") {
    const keys = await generateKeyPair();
    const router = new Router({
      ...(transport === "curve"
        ? { curveServer: true, curvePublicKey: toZ85(keys.publicKey), curveSecretKey: toZ85(keys.secretKey) }
        : {}),
    });
    await router.bind("tcp://127.0.0.1:0");
    void (async () => {
      for await (const msg of router) await router.send(msg); // [route, tag, payload] straight back
    })();
    return { endpoint: router.lastEndpoint!, pubkey: toHex(keys.publicKey) };
  }
  const omq = await OxenMQ.create();
  if (impl === "untyped") omq.addCategory("bench", "none").addRequestCommand("echo", (m) => m.reply(...m.data));
  else
    registerRpc(omq, {
      echo: ({ text }) => ({ text }),
      info: () => {
        throw new RpcError(404, "not in the benchmark");
      },
      headers: () => [],
      statusJson: () => ({ status: "OK", height: 0 }),
    });
  const ep = transport === "curve" ? omq.listenCurve("tcp://127.0.0.1:0") : omq.listenPlain("tcp://127.0.0.1:0");
  await omq.start();
  return { endpoint: await ep, pubkey: toHex(omq.publicKey) };
}

start().then(
  (ready) => {
    process.send!({ type: "ready", ...ready });
    process.on("message", (m: { type: string }) => {
      if (m.type === "exit") process.exit(0); // a clean exit, so that --cpu-prof writes its profile
      if (m.type === "cpu") process.send!({ type: "cpu", cpu: process.cpuUsage() } satisfies ServerCpu);
      if (m.type !== "rss") return;
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ type: "rss", rss: process.memoryUsage().rss } satisfies ServerRss);
    });
  },
  (err: unknown) => {
    process.stderr.write(`bench server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
