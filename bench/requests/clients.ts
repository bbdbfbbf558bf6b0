import { Dealer } from "zeromq";
import { Address, ConnectionID, fromHex, generateKeyPair, OxenMQ, toZ85 } from "@oxenmq-ts/runtime";
import { RpcClient } from "../../generated/node.js";
import {
  MOLECULER_SERVER_NODE,
  MOLECULER_SERVICE,
  PROTO,
  type EchoClient,
  type Impl,
  type ServerReady,
  type Transport,
} from "./common.js";
import type { EchoRouter } from "./trpc.js";

/** The payload as a string, as the JSON-based peers (and our typed echo) carry it; one conversion per buffer. */
function textOf(): (payload: Uint8Array) => string {
  const text = new Map<Uint8Array, string>();
  return (payload) => {
    let t = text.get(payload);
    if (t === undefined) text.set(payload, (t = Buffer.from(payload).toString("latin1")));
    return t;
  };
}

/** The ceiling: a raw DEALER with the same framing cost (a tag frame and the payload), tags matched in a Map. */
async function rawClient(ready: ServerReady, transport: Transport): Promise<EchoClient> {
  const keys = await generateKeyPair();
  const d = new Dealer(
    transport === "curve"
      ? {
          curveServerKey: toZ85(fromHex(ready.pubkey)),
          curvePublicKey: toZ85(keys.publicKey),
          curveSecretKey: toZ85(keys.secretKey),
        }
      : {},
  );
  d.connect(ready.endpoint);
  const pending = new Map<number, () => void>();
  const queue: Array<[Buffer, Uint8Array]> = [];
  let sending = false;
  let next = 0;
  void (async () => {
    for await (const [tag] of d) {
      const t = tag!.readUInt32LE(0);
      pending.get(t)?.();
      pending.delete(t);
    }
  })();
  const pump = async (): Promise<void> => {
    sending = true;
    while (queue.length) await d.send(queue.shift()!);
    sending = false;
  };
  return {
    call: (payload) =>
      new Promise<void>((resolve) => {
        const tag = Buffer.alloc(4);
        tag.writeUInt32LE(next);
        pending.set(next++ >>> 0, resolve);
        queue.push([tag, payload]);
        if (!sending) void pump();
      }),
    close: () => Promise.resolve(d.close()),
  };
}

async function omqClient(ready: ServerReady, transport: Transport, typed: boolean): Promise<EchoClient> {
  const omq = await OxenMQ.create();
  await omq.start();
  const addr = transport === "curve" ? new Address(ready.endpoint, fromHex(ready.pubkey)) : new Address(ready.endpoint);
  const conn: ConnectionID = await omq.connectRemote(addr);
  const rpc = new RpcClient(omq, conn);
  const text = textOf();
  return {
    call: typed
      ? (payload) => rpc.echo({ text: text(payload) })
      : (payload) => omq.request(conn, "bench.echo", [payload]),
    close: () => omq.close({ timeout: 100 }),
  };
}

async function grpcClient(ready: ServerReady): Promise<EchoClient> {
  const grpc = await import("@grpc/grpc-js");
  const loader = await import("@grpc/proto-loader");
  const def = grpc.loadPackageDefinition(await loader.load(PROTO)) as unknown as {
    bench: {
      Echo: new (
        addr: string,
        creds: import("@grpc/grpc-js").ChannelCredentials,
      ) => import("@grpc/grpc-js").Client & {
        Echo(req: { data: Uint8Array }, cb: (err: Error | null, res: unknown) => void): void;
      };
    };
  };
  const client = new def.bench.Echo(ready.endpoint, grpc.credentials.createInsecure());
  return {
    call: (payload) =>
      new Promise((resolve, reject) =>
        client.Echo({ data: payload }, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    close: () => Promise.resolve(client.close()),
  };
}

/**
 * Moleculer's TCP transporter (JSON, no UDP discovery): the client broker knows the server node from `urls` and
 * learns its services by gossip; waiting for the service keeps discovery out of the warm-up and the runs.
 */
async function moleculerClient(ready: ServerReady): Promise<EchoClient> {
  const { ServiceBroker } = (await import("moleculer")).default;
  const broker = new ServiceBroker({
    nodeID: `bench-client-${process.pid}`,
    logger: false,
    serializer: "JSON",
    transporter: {
      type: "TCP",
      options: { udpDiscovery: false, port: 0, urls: [`${ready.endpoint}/${MOLECULER_SERVER_NODE}`] },
    },
    skipProcessEventRegistration: true,
  });
  await broker.start();
  await broker.waitForServices(MOLECULER_SERVICE, 30_000);
  const action = `${MOLECULER_SERVICE}.echo`;
  const text = textOf();
  return {
    call: (payload) => broker.call(action, { text: text(payload) }),
    close: () => broker.stop(),
  };
}

/**
 * JSON-RPC 2.0 over HTTP/1.1 with undici: a keep-alive Pool of 64 connections, one request on each at a time (no
 * pipelining, which HTTP/1.1 deployments rarely enable), so that 64 calls can be in flight.
 */
async function jsonRpcClient(ready: ServerReady): Promise<EchoClient> {
  const { Pool } = await import("undici");
  const pool = new Pool(`http://${ready.endpoint}`, {
    connections: 64,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
  });
  const text = textOf();
  let id = 0;
  return {
    call: async (payload) => {
      const res = await pool.request({
        path: "/",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: id++, method: "echo", params: { text: text(payload) } }),
      });
      const reply = (await res.body.json()) as { result?: unknown; error?: unknown };
      if (reply.error !== undefined) throw new Error(`JSON-RPC error: ${JSON.stringify(reply.error)}`);
      return reply.result;
    },
    close: () => pool.close(),
  };
}

/** tRPC v11 over WebSocket (ws): the wsLink client, one `echo` query per call. */
async function trpcClient(ready: ServerReady): Promise<EchoClient> {
  const { createTRPCClient, createWSClient, wsLink } = await import("@trpc/client");
  const { WebSocket } = await import("ws");
  const ws = createWSClient({
    url: `ws://${ready.endpoint}`,
    // Node 20 has no global WebSocket (without a flag); ws is what tRPC's docs name for Node.
    WebSocket: WebSocket as unknown as NonNullable<Parameters<typeof createWSClient>[0]["WebSocket"]>,
  });
  const trpc = createTRPCClient<EchoRouter>({ links: [wsLink({ client: ws })] });
  const text = textOf();
  return {
    call: (payload) => trpc.echo.query({ text: text(payload) }),
    close: () => ws.close(),
  };
}

export function makeClient(impl: Impl, ready: ServerReady, transport: Transport): Promise<EchoClient> {
  switch (impl) {
    case "raw":
      return rawClient(ready, transport);
    case "untyped":
      return omqClient(ready, transport, false);
    case "typed":
      return omqClient(ready, transport, true);
    case "grpc":
      return grpcClient(ready);
    case "moleculer":
      return moleculerClient(ready);
    case "jsonrpc":
      return jsonRpcClient(ready);
    case "trpc":
      return trpcClient(ready);
  }
}
