import { Dealer } from "zeromq";
import { Address, ConnectionID, fromHex, generateKeyPair, OxenMQ, toZ85 } from "@oxenmq-ts/runtime";
import { RpcClient } from "../../generated/node.js";
import { PROTO, type EchoClient, type Impl, type ServerReady, type Transport } from "./common.js";

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
  const text = new Map<Uint8Array, string>();
  return {
    call: typed
      ? (payload) => {
          let t = text.get(payload);
          if (t === undefined) text.set(payload, (t = Buffer.from(payload).toString("latin1")));
          return rpc.echo({ text: t });
        }
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
  }
}
