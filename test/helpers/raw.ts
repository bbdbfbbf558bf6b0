import { Dealer } from "zeromq";
import { toZ85 } from "../../runtime/base/encoding.js";
import type { KeyPair } from "../../runtime/index.js";

export interface RawDealerOptions {
  serverKey?: Uint8Array;
  keys?: KeyPair;
  routingId?: Buffer;
  maxMessageSize?: number;
  receiveTimeout?: number;
  /** Local address to connect from (e.g. "127.0.0.2"), for listeners that decide by address. */
  from?: string;
}

/** A raw zeromq DEALER, to see and send exact frames (a peer that can send anything, empty frames included). */
export function rawDealer(endpoint: string, opts: RawDealerOptions = {}): Dealer {
  const d = new Dealer({
    linger: 0,
    receiveTimeout: opts.receiveTimeout ?? 3000,
    ...(opts.serverKey && opts.keys
      ? {
          curveServerKey: toZ85(opts.serverKey),
          curvePublicKey: toZ85(opts.keys.publicKey),
          curveSecretKey: toZ85(opts.keys.secretKey),
        }
      : {}),
  });
  if (opts.routingId)
    (d as unknown as { setStringOption(o: number, v: Buffer): void }).setStringOption(5, opts.routingId);
  d.connect(opts.from ? endpoint.replace("tcp://", `tcp://${opts.from}:0;`) : endpoint);
  return d;
}

export async function roundTrip(d: Dealer, frames: Array<string | Buffer>): Promise<string[]> {
  await d.send(frames);
  return (await d.receive()).map((f) => f.toString());
}
