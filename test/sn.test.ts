import { afterEach, expect, test } from "@jest/globals";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Address, ConnectionID, generateKeyPair, toHex, type KeyPair, type OmqError } from "../runtime/index.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";
import { rawDealer } from "./helpers/raw.js";

afterEach(closeAll);

type Node = Awaited<ReturnType<typeof makeOmq>> & { keyPair: KeyPair; notes: string[][]; endpoint: string };

/** `n` service nodes that know each other's addresses (a shared lookup table) and keys (the active set). */
async function network(n: number, extra: { inTable?: boolean }[] = []): Promise<Node[]> {
  const table = new Map<string, string>();
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const keys = await generateKeyPair();
    const omq = await makeOmq({
      ...keys,
      serviceNode: true,
      snLookup: (pk) => table.get(toHex(pk)),
      connCheckInterval: 20,
    });
    const notes: string[][] = [];
    omq
      .addCategory("sn", { remoteSN: true })
      .addRequestCommand("ping", (m) => m.reply(toHex(omq.publicKey), toHex(m.pubkey)))
      .addCommand("note", (m) => void notes.push([toHex(m.pubkey), ...text(m.data)]))
      .addCommand("bye_me", (m) => m.sendBack("BYE"));
    const ep = omq.listenCurve("tcp://127.0.0.1:0");
    await omq.start();
    const endpoint = await ep;
    if (extra[i]?.inTable !== false) table.set(toHex(keys.publicKey), endpoint);
    nodes.push(Object.assign(omq, { keyPair: keys, notes, endpoint }));
  }
  for (const node of nodes) node.setActiveSNs(nodes.map((x) => x.publicKey));
  return nodes;
}

const sn = (node: Node): ConnectionID => ConnectionID.sn(node.publicKey);

test("three nodes exchange requests and commands by key in all directions", async () => {
  const nodes = await network(3);
  for (const a of nodes)
    for (const b of nodes) {
      if (a === b) continue;
      expect(text(await a.request(sn(b), "sn.ping"))).toEqual([toHex(b.publicKey), toHex(a.publicKey)]);
      a.send(sn(b), "sn.note", ["hi"]);
    }
  await waitFor(() => nodes.every((x) => x.notes.length === 2), "every node got two notes");
  for (const x of nodes)
    expect(new Set(x.notes.map((n) => n[0]))).toEqual(
      new Set(nodes.filter((y) => y !== x).map((y) => toHex(y.publicKey))),
    );
});

test("a node answers over the incoming connection, then reaches the same peer by key alone", async () => {
  // d is a service node that nobody can look up: a can only reach it over the connection d opened.
  const [a, d] = await network(2, [{}, { inTable: false }]);
  expect(text(await d!.request(sn(a!), "sn.ping"))).toEqual([toHex(a!.publicKey), toHex(d!.publicKey)]);
  a!.send(sn(d!), "sn.note", ["later, by key"]);
  await waitFor(() => d!.notes.length === 1, "note from a");
  expect(d!.notes[0]).toEqual([toHex(a!.publicKey), "later, by key"]);
});

test("sending to our own public key works", async () => {
  const [a] = await network(1);
  expect(text(await a!.request(sn(a!), "sn.ping"))).toEqual([toHex(a!.publicKey), toHex(a!.publicKey)]);
});

test("FORBIDDEN_SN for a non-SN caller; allowed once its key is active; forbidden again after removal", async () => {
  const [a] = await network(1);
  const client = await makeOmq();
  await client.start();
  const conn = await client.connectRemote(new Address(a!.endpoint, a!.publicKey));
  await expect(client.request(conn, "sn.ping")).rejects.toMatchObject({ code: "FORBIDDEN_SN" });
  a!.updateActiveSNs([client.publicKey], []);
  expect(text(await client.request(conn, "sn.ping"))[1]).toBe(toHex(client.publicKey));
  a!.updateActiveSNs([client.publicKey], [client.publicKey]); // the add wins
  expect(text(await client.request(conn, "sn.ping"))[1]).toBe(toHex(client.publicKey));
  a!.updateActiveSNs([], [client.publicKey]);
  await expect(client.request(conn, "sn.ping")).rejects.toMatchObject({ code: "FORBIDDEN_SN" });
  a!.setActiveSNs([client.publicKey, new Uint8Array(5)]);
  expect(a!.isActiveSN(client.publicKey)).toBe(true);
  expect(a!.logs.some((l) => l.message.includes("dropping a 5-byte key"))).toBe(true);
});

test("a client using a service node's routing id, or its key as routing id, is not that node", async () => {
  const [a, b] = await network(2);
  const attacker = await generateKeyPair();
  const cppStyle = Buffer.concat([Buffer.from("L"), b!.publicKey]); // C++ OxenMQ's routing id for b's key
  const zmqStyle = Buffer.from([0, 0x6b, 0x8b, 0x45, 0x67]); // the form libzmq gives peers without a routing id
  for (const route of [cppStyle, zmqStyle, Buffer.from(b!.publicKey)]) {
    const d = rawDealer(a!.endpoint, { serverKey: a!.publicKey, keys: attacker, routingId: route });
    await d.send(["sn.ping", "tag"]);
    expect((await d.receive()).map(String)).toEqual(["FORBIDDEN_SN", "REPLY", "tag"]);
    d.close();
  }
});

test("idle outgoing connections expire; keep-alive extends them", async () => {
  const [a, b, c] = await network(3);
  const optionalSend = (to: Node): Promise<string> =>
    new Promise((resolve) => {
      a!.send(sn(to), "sn.note", ["optional"], { optional: true, queueFailure: (e: OmqError) => resolve(e.code) });
      setTimeout(() => resolve("sent"), 50);
    });
  a!.connectSN(b!.publicKey, { keepAlive: 100 });
  a!.connectSN(c!.publicKey, { keepAlive: 100 });
  a!.send(sn(c!), "sn.note", ["extend"], { keepAlive: 60_000 });
  expect(await optionalSend(b!)).toBe("sent");
  await waitFor(() => b!.notes.some((n) => n[1] === "optional"), "b got the optional note");
  await waitFor(
    () => a!.logs.some((l) => l.message.includes(`idle connection to service node ${toHex(b!.publicKey)}`)),
    "b expired",
    5000,
  );
  expect(await optionalSend(b!)).toBe("SEND_FAILED");
  expect(await optionalSend(c!)).toBe("sent"); // still open thanks to the longer keep-alive
  await waitFor(() => c!.notes.filter((n) => n[1] === "optional").length === 1, "c got the optional note");
});

test("BYE from the peer closes our outgoing connection", async () => {
  const [a, b] = await network(2);
  a!.connectSN(b!.publicKey);
  a!.send(sn(b!), "sn.bye_me");
  await waitFor(() => a!.logs.some((l) => l.message.includes("BYE from")), "BYE received");
  const code = await new Promise<string>((resolve) =>
    a!.send(sn(b!), "sn.note", [], { optional: true, queueFailure: (e) => resolve(e.code) }),
  );
  expect(code).toBe("SEND_FAILED");
});

test("the multi-node example: 10 service nodes in separate processes, every vote answered", async () => {
  // The built example (npm test builds first): its node processes run the compiled JavaScript.
  const built = pathToFileURL(join(process.cwd(), "dist/examples/network.js")).href;
  const { runVoteRound } = (await import(built)) as typeof import("../examples/network.js");
  const r = await runVoteRound(10);
  expect(r.ok).toBe(r.total);
  expect(r.total).toBe(90);
}, 120_000);

test("removing a node from the active set closes our outgoing connection to it; `incoming` needs its connection", async () => {
  const [a, b] = await network(2);
  const attempt = (from: Node, to: Node, options: { optional?: boolean; incoming?: boolean }): Promise<string> =>
    new Promise((resolve) => {
      let done = false;
      const finish = (outcome: string): void => {
        done = true;
        resolve(outcome);
      };
      from.send(sn(to), "sn.note", ["attempt"], { ...options, queueFailure: (e) => finish(e.code) });
      // Stops polling as soon as the attempt has an outcome (no timer left behind when the test ends).
      void waitFor(() => done || to.notes.length > 0, "note", 2000).then(
        () => finish(done ? "failed" : "delivered"),
        () => finish("lost"),
      );
    });
  expect(await attempt(b!, a!, { incoming: true })).toBe("SEND_FAILED"); // a never connected to b
  a!.connectSN(b!.publicKey);
  a!.send(sn(b!), "sn.note", ["hello"]);
  await waitFor(() => b!.notes.length === 1, "b got a's note");
  b!.notes.length = 0;
  expect(await attempt(b!, a!, { incoming: true })).toBe("delivered"); // now over a's connection to b
  a!.updateActiveSNs([], [b!.publicKey]);
  expect(await attempt(a!, b!, { optional: true })).toBe("SEND_FAILED");
});
