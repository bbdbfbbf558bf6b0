import { afterAll, expect, test } from "@jest/globals";
import { stat } from "node:fs";
import type { Dealer } from "zeromq";
import { generateKeyPair, toHex, type ConnectionID } from "../runtime/index.js";
import { BATCH_FEATURE, isPacked, unpackBatch, unpackLeading } from "../runtime/wire/batch.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";
import { rawDealer } from "./helpers/raw.js";

// Review finding: the coalescer's end-of-turn flush (Listener.linkOf().sendNow -> pushTo) writes to the ROUTER while the
// handshake gate holds sends (docs/identity.md I4). Victim A (admin) negotiated batches and uses a known routing id
// (C++'s 'L'+pubkey convention); attacker B (another key, level none, plain HI like C++) connects with that routing
// id while messages to A wait for the end of the turn. They reach B, as a BATCH. Without coalescing they cannot.
const sockets: Dealer[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  await closeAll();
});

/**
 * A server with victim A (admin, registered, having said `hi`) and a second client B whose allow() waits for the test
 * (a database lookup, say): the test picks the moment B's approval leaves. With `sharedRoute`, A uses a known routing
 * id (C++'s 'L'+pubkey convention) and B connects with the same one, taking A's route over.
 */
async function scene(o: { coalesce?: boolean; sharedRoute?: boolean; hi: string[]; timeout: number }) {
  const server = await makeOmq({ logLevel: "info", coalesce: o.coalesce ?? true });
  const A = await generateKeyPair();
  const Bk = await generateKeyPair();
  let aConn: ConnectionID | undefined;
  let approveB: ((l: "none") => void) | undefined;
  server.addCategory("adm", "admin").addCommand("reg", (m) => void (aConn = m.conn));
  const ep = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (_a, pk) => (toHex(pk) === toHex(A.publicKey) ? "admin" : new Promise<"none">((r) => (approveB = r))),
  });
  await server.start();
  const endpoint = await ep;
  const route = o.sharedRoute ? Buffer.concat([Buffer.from("L"), Buffer.from(A.publicKey)]) : undefined;
  const a = rawDealer(endpoint, { serverKey: server.publicKey, keys: A, routingId: route, receiveTimeout: 500 });
  sockets.push(a);
  await a.send(o.hi);
  expect((await a.receive())[0]!.toString()).toBe("HELLO");
  await a.send(["adm.reg"]);
  await waitFor(() => aConn !== undefined, "A registered");
  const b = rawDealer(endpoint, { serverKey: server.publicKey, keys: Bk, routingId: route, receiveTimeout: o.timeout });
  sockets.push(b);
  await waitFor(() => approveB !== undefined, "B's allow() called");
  return { server, a, b, aConn: aConn!, approveB: approveB! };
}

for (const coalesce of [true, false]) {
  test(`messages meant for A never reach B (server coalesce: ${coalesce})`, async () => {
    const { server, b, aConn, approveB } = await scene({
      coalesce,
      sharedRoute: true,
      hi: ["HI", BATCH_FEATURE, "-1"],
      timeout: 1500,
    });

    // From an I/O callback (poll phase), so the coalescer's setImmediate comes before the listener's next read.
    await new Promise((r) => stat("/", r));
    approveB("none"); // B's approval goes out in this turn's microtasks: the gate now holds sends
    for (let i = 0; i < 20; i++) server.send(aConn, "adm.secret", [`secret ${i} for A`]);
    for (let k = 0; k < 50; k++) await Promise.resolve();
    const t = Date.now();
    while (Date.now() - t < 100); // a busy event loop: libzmq completes B's handshake meanwhile

    const got: string[][] = [];
    for (;;) {
      try {
        got.push((await b.receive()).map((f) => f.toString("latin1")));
      } catch {
        break;
      }
    }
    expect(got.filter((m) => m[0] === "BATCH" || m[0] === "adm.secret")).toEqual([]);
  });
}

// Review finding: messages to one connection were reordered when another client's approval opened the gate's epoch
// in the middle of a turn: m1 went out at once, m2 waited in A's coalescer, m3 and m4 were held by the gate, and the
// end-of-turn flush put m2 behind them (A read 1, 3, 4, 2). What waits now goes out just before the gate holds.
const messagesOf = (frames: Buffer[]): string[][] => {
  if (frames[0]!.toString() === "BATCH") return (unpackBatch(frames) as Buffer[][]).map((m) => m.map(String));
  if (isPacked(frames[0]!)) return [(unpackLeading(frames) as Buffer[]).map(String)];
  return [frames.map(String)];
};

for (const offer of [true, false])
  test(`messages to A keep their order across another client's handshake (A offers batches: ${offer})`, async () => {
    for (let round = 0; round < 3; round++) {
      const { server, a, aConn, approveB } = await scene({
        hi: offer ? ["HI", BATCH_FEATURE, "-1"] : ["HI"],
        timeout: 1500,
      });

      await new Promise((r) => stat("/", r)); // poll phase: the turn's end (an immediate) comes before the next read
      server.send(aConn, "x.m", ["1"]);
      server.send(aConn, "x.m", ["2"]);
      approveB("none");
      for (let k = 0; k < 50; k++) await Promise.resolve(); // B's approval is out: the gate holds sends
      server.send(aConn, "x.m", ["3"]);
      server.send(aConn, "x.m", ["4"]);

      const got: string[] = [];
      while (got.length < 4) {
        let frames: Buffer[];
        try {
          frames = await a.receive();
        } catch {
          break;
        }
        for (const m of messagesOf(frames)) got.push(m[1] ?? "?");
      }
      expect(got).toEqual(["1", "2", "3", "4"]);
      await server.close({ timeout: 100 });
    }
  });
