import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { Address, ConnectionID, type DeferredSend, type OmqError } from "../runtime/index.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";

let server: Awaited<ReturnType<typeof makeOmq>>;
let client: Awaited<ReturnType<typeof makeOmq>>;
let conn: ConnectionID;
const parked: DeferredSend[] = [];
const received: string[][] = [];

beforeAll(async () => {
  server = await makeOmq();
  server
    .addCategory("pub", "none")
    .addRequestCommand("echo", (m) => m.reply(...m.data))
    .addRequestCommand("park", (m) => void parked.push(m.later()))
    .addRequestCommand("slow", () => new Promise((r) => setTimeout(r, 10_000).unref()))
    .addRequestCommand("ask", async (m) => m.reply(...(await m.sendRequest("cli.name"))))
    .addCommand("note", (m) => void received.push(text(m.data)));
  const ep = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  client = await makeOmq();
  client.addCategory("cli", "none").addRequestCommand("name", (m) => m.reply("i am the client"));
  await client.start();
  conn = await client.connectRemote(new Address(await ep, server.publicKey));
});
afterAll(closeAll);

test("several data parts and binary data round-trip unchanged", async () => {
  const binary = Buffer.from([0, 255, 0, 10, 13, 0]);
  const reply = await client.request(conn, "pub.echo", ["a", binary, new Uint8Array(0), "é"]);
  expect(reply).toEqual([Buffer.from("a"), binary, Buffer.alloc(0), Buffer.from("é")]);
});

test("a deferred reply works after the handler returned", async () => {
  const pending = client.request(conn, "pub.park", ["x"]);
  await waitFor(() => parked.length === 1, "parked request");
  parked.pop()!.reply("late", "reply");
  expect(text(await pending)).toEqual(["late", "reply"]);
});

test("a handler can make a request back to the caller over the same connection", async () => {
  expect(text(await client.request(conn, "pub.ask"))).toEqual(["i am the client"]);
});

test("commands are delivered in order", async () => {
  for (let i = 0; i < 20; i++) client.send(conn, "pub.note", [String(i)]);
  await waitFor(() => received.length === 20, "20 commands");
  expect(received.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
});

test("timeout fires near its deadline; AbortSignal cancels", async () => {
  const t0 = Date.now();
  await expect(client.request(conn, "pub.slow", [], { timeout: 200 })).rejects.toMatchObject({ code: "TIMEOUT" });
  const elapsed = Date.now() - t0;
  expect(elapsed).toBeGreaterThanOrEqual(195);
  expect(elapsed).toBeLessThan(1000);
  const ac = new AbortController();
  const p = client.request(conn, "pub.slow", [], { signal: ac.signal });
  ac.abort();
  await expect(p).rejects.toMatchObject({ code: "ABORTED" });
  await expect(client.request(conn, "pub.slow", [], { signal: ac.signal })).rejects.toMatchObject({ code: "ABORTED" });
});

test("unroutable sends call queueFailure (or queueFull) and fail requests at once", async () => {
  const nowhere = new ConnectionID(999);
  const failures: OmqError[] = [];
  client.send(nowhere, "pub.note", [], { queueFailure: (e) => failures.push(e) });
  let full = 0;
  client.send(nowhere, "pub.note", [], { queueFull: () => full++ });
  await waitFor(() => failures.length === 1 && full === 1, "failure callbacks");
  expect(failures[0]!.code).toBe("SEND_FAILED");
  await expect(client.request(nowhere, "pub.echo")).rejects.toMatchObject({ code: "SEND_FAILED" });
  await expect(
    client.request(ConnectionID.sn(server.publicKey), "pub.echo", [], { optional: true }),
  ).rejects.toMatchObject({
    code: "SEND_FAILED",
  });
});

test("close() fails pending requests with CLOSED", async () => {
  const other = await makeOmq();
  await other.start();
  const c = await other
    .connectRemote(new Address(`tcp://127.0.0.1:1`).withPubkey(server.publicKey), { timeout: 100 })
    .catch(() => undefined);
  expect(c).toBeUndefined();
  const self = await other.connectInproc();
  const p = other.request(self, "nothing.here.ever", [], { timeout: 60_000 });
  await other.close();
  await expect(p).rejects.toMatchObject({ code: expect.stringMatching(/CLOSED|UNKNOWNCOMMAND/) });
});

test("sendBack reaches the caller's category; disconnect closes the outgoing connection", async () => {
  const other = await makeOmq();
  const pongs: string[] = [];
  other.addCategory("back", "none").addCommand("pong", (m) => void pongs.push(text(m.data)[0]!));
  await other.start();
  const ep = await (async () => {
    const s = await makeOmq();
    s.addCategory("p", "none").addCommand("ping", (m) => m.sendBack("back.pong", ["pong!"]));
    const e = s.listenPlain("tcp://127.0.0.1:0");
    await s.start();
    return e;
  })();
  const c = await other.connectRemote(ep);
  other.send(c, "p.ping");
  await waitFor(() => pongs.length === 1, "pong");
  expect(pongs).toEqual(["pong!"]);
  other.disconnect(c);
  const failures: string[] = [];
  other.send(c, "p.ping", [], { queueFailure: (e) => failures.push(e.code) });
  await waitFor(() => failures.length === 1, "send after disconnect fails");
  expect(failures).toEqual(["SEND_FAILED"]);
});
