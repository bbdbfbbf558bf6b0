import { Router } from "zeromq";
import { generateKeyPair, OxenMQ, RpcError, toHex, toZ85 } from "@oxenmq-ts/runtime";
import { registerRpc } from "../../generated/node.js";
import { PROTO, type Impl, type Transport } from "./common.js";

/** One echo server per process: `node server.js IMPL TRANSPORT`. Answers {type:"rss"} with its RSS after a GC. */
const [impl, transport] = process.argv.slice(2) as [Impl, Transport];

async function start(): Promise<{ endpoint: string; pubkey: string }> {
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
      if (m.type !== "rss") return;
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ type: "rss", rss: process.memoryUsage().rss });
    });
  },
  (err: unknown) => {
    process.stderr.write(`bench server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
