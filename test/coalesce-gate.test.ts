import { afterAll, expect, test } from "@jest/globals";
import { stat } from "node:fs";
import type { Dealer } from "zeromq";
import { generateKeyPair, toHex, type ConnectionID } from "../runtime/index.js";
import { BATCH_FEATURE } from "../runtime/wire/batch.js";
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

for (const coalesce of [true, false]) {
  test(`messages meant for A never reach B (server coalesce: ${coalesce})`, async () => {
    const server = await makeOmq({ logLevel: "info", coalesce });
    const A = await generateKeyPair();
    const Bk = await generateKeyPair();
    let aConn: ConnectionID | undefined;
    let approveB: ((l: "none") => void) | undefined;
    server.addCategory("adm", "admin").addCommand("reg", (m) => void (aConn = m.conn));
    const ep = server.listenCurve("tcp://127.0.0.1:0", {
      // B's allow() is asynchronous (a database lookup, say): the test picks the moment it answers.
      allow: (_a, pk) => (toHex(pk) === toHex(A.publicKey) ? "admin" : new Promise<"none">((r) => (approveB = r))),
    });
    await server.start();
    const endpoint = await ep;
    const route = Buffer.concat([Buffer.from("L"), Buffer.from(A.publicKey)]);
    const a = rawDealer(endpoint, { serverKey: server.publicKey, keys: A, routingId: route, receiveTimeout: 500 });
    sockets.push(a);
    await a.send(["HI", BATCH_FEATURE, "-1"]);
    expect((await a.receive())[0]!.toString()).toBe("HELLO");
    await a.send(["adm.reg"]);
    await waitFor(() => aConn !== undefined, "A registered");

    const b = rawDealer(endpoint, { serverKey: server.publicKey, keys: Bk, routingId: route, receiveTimeout: 1500 });
    sockets.push(b);
    await waitFor(() => approveB !== undefined, "B's allow() called");

    // From an I/O callback (poll phase), so the coalescer's setImmediate comes before the listener's next read.
    await new Promise((r) => stat("/", r));
    approveB!("none"); // B's approval goes out in this turn's microtasks: the gate now holds sends
    for (let i = 0; i < 20; i++) server.send(aConn!, "adm.secret", [`secret ${i} for A`]);
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
