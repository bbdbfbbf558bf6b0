import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  Address,
  btDecode,
  btEncode,
  ConnectionID,
  generateKeyPair,
  toHex,
  type KeyPair,
  type Message,
  type OxenMQ,
} from "../../runtime/index.js";
import { registerNodeHandlers } from "../../examples/node-handlers.js";
import { closeAll, makeOmq, text, waitFor } from "../helpers/omq.js";
import { CppPeer, freePort, type Got } from "./cpp-peer.js";

// Interoperability with the real C++ OxenMQ 1.2.16 (docs/identity.md, docs/protocol.md): test/interop/peer.cpp, built
// by test/interop/build.sh, in both directions, plain and CURVE. Run with `npm run test:interop`.

const binary = process.env.OMQ_PEER;
if (!binary) throw new Error("OMQ_PEER is not set: run this suite with `npm run test:interop`");

const peers: CppPeer[] = [];
async function cpp(keys?: KeyPair, serviceNode = false): Promise<CppPeer> {
  const p = await CppPeer.start(binary!, { ...(keys ? { secretHex: toHex(keys.secretKey) } : {}), serviceNode });
  peers.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await closeAll();
});

const who = (m: Message): void =>
  m.reply(m.pubkey.length ? toHex(m.pubkey) : "anonymous", m.access.auth, m.access.remoteSN ? "sn" : "-");
const binaryParts = [Buffer.from([0, 1, 2, 0, 255]), Buffer.alloc(0), Buffer.alloc(3000, 7), Buffer.from("text")];
const gotFrom = (p: CppPeer, command: string): Got[] => p.got.filter((g) => g.command === command);

interface Noted {
  command: string;
  pubkey: string;
  auth: string;
  sn: boolean;
  data: string[];
}

/** The categories our side serves in these tests, mirroring the C++ peer's, plus the typed ones of schemas/node.ts. */
function serve(omq: OxenMQ, noted: Noted[]): void {
  const note = (command: string) => (m: Message) =>
    void noted.push({
      command,
      pubkey: m.pubkey.length ? toHex(m.pubkey) : "-",
      auth: m.access.auth,
      sn: m.access.remoteSN,
      data: text(m.data),
    });
  omq
    .addCategory("public", "none")
    .addRequestCommand("hello", (m) => m.reply("hello", ...m.data))
    .addRequestCommand("echo", (m) => m.reply(...m.data))
    .addRequestCommand("whoami", who)
    .addCommand("note", note("public.note"))
    .addCommand("ping", (m) => m.sendBack("client.pong", m.data));
  omq.addCategory("basic", "basic").addRequestCommand("whoami", who);
  omq.addCategory("admin", "admin").addRequestCommand("whoami", who);
  omq.addCategory("lsn", { localSN: true }).addRequestCommand("whoami", who);
  omq
    .addCategory("snw", { remoteSN: true })
    .addRequestCommand("whoami", who)
    .addCommand("note", note("snw.note"))
    .addCommand("ping", (m) => omq.send(ConnectionID.sn(m.pubkey), "sn.note", ["pong from node"]));
  omq.addCategory("client", "none").addCommand("pong", note("client.pong")).addCommand("note", note("client.note"));
  omq.addCommandAlias("hello", "public.hello");
  registerNodeHandlers(omq);
}

describe("C++ OxenMQ client → our server", () => {
  let srv: Awaited<ReturnType<typeof makeOmq>>;
  let curve: string;
  let plain: string;
  let adminKeys: KeyPair;
  let downgraded: KeyPair;
  const noted: Noted[] = [];
  let c: CppPeer;
  let conn: string;

  beforeAll(async () => {
    adminKeys = await generateKeyPair();
    downgraded = await generateKeyPair();
    srv = await makeOmq({ logLevel: "info" });
    serve(srv, noted);
    const levels = new Map([
      [toHex(adminKeys.publicKey), "admin" as const],
      [toHex(downgraded.publicKey), "none" as const],
    ]);
    const cEp = srv.listenCurve("tcp://127.0.0.1:0", { allow: (_ip, pk) => levels.get(toHex(pk)) ?? "basic" });
    const pEp = srv.listenPlain("tcp://127.0.0.1:0", { allow: (ip) => (ip === "127.0.0.1" ? "basic" : "none") });
    await srv.start();
    curve = `curve://${(await cEp).slice("tcp://".length)}/${toHex(srv.publicKey)}`;
    plain = await pEp;
    c = await cpp(adminKeys);
    await c.start();
    conn = await c.connect(curve);
  });

  test("whoami shows the C++ client's real key and the level allow() gave it", async () => {
    expect(text((await c.request(conn, "public.whoami")).data)).toEqual([toHex(adminKeys.publicKey), "admin", "-"]);
    expect(text((await c.request(conn, "admin.whoami")).data)).toEqual([toHex(adminKeys.publicKey), "admin", "-"]);
  });

  test("requests with several binary parts, and the alias", async () => {
    const r = await c.request(conn, "public.echo", binaryParts);
    expect(r).toEqual({ ok: true, data: binaryParts });
    expect(text((await c.request(conn, "hello", ["a", "b"])).data)).toEqual(["hello", "a", "b"]);
  });

  test("commands both ways: C++ → our handler, and our send back → C++", async () => {
    await c.send(conn, "public.note", ["x", "\u0000y"]);
    await waitFor(() => noted.some((n) => n.command === "public.note"), "note received");
    expect(noted.find((n) => n.command === "public.note")).toEqual({
      command: "public.note",
      pubkey: toHex(adminKeys.publicKey),
      auth: "admin",
      sn: false,
      data: ["x", "\u0000y"],
    });
    await c.send(conn, "public.ping", ["p1", "p2"]);
    await waitFor(() => gotFrom(c, "client.pong").length > 0, "pong at the C++ client");
    expect(gotFrom(c, "client.pong")[0]!.data.map(String)).toEqual(["p1", "p2"]);
    expect(gotFrom(c, "client.pong")[0]!.pubkey).toBe(toHex(srv.publicKey));
  });

  test("every error word reaches the C++ caller", async () => {
    expect(await c.request(conn, "lsn.whoami")).toEqual({ ok: false, data: [Buffer.from("NOT_A_SERVICE_NODE")] });
    expect(await c.request(conn, "snw.whoami")).toEqual({ ok: false, data: [Buffer.from("FORBIDDEN_SN")] });
    // C++ answers a request to an unknown command only with a log line; the request itself times out.
    expect(await c.request(conn, "public.nope", [], 300)).toEqual({ ok: false, data: [Buffer.from("TIMEOUT")] });
    await c.send(conn, "public.echo"); // a request command without a reply tag
    await waitFor(
      () =>
        c.logs.some((l) => l.includes("Received UNKNOWNCOMMAND:public.nope")) &&
        c.logs.some((l) => l.includes("Received NO_REPLY_TAG:public.echo")),
      "UNKNOWNCOMMAND and NO_REPLY_TAG logged by the C++ client",
    );
    const low = await cpp(downgraded);
    await low.start();
    const lowConn = await low.connect(curve);
    expect(await low.request(lowConn, "basic.whoami")).toEqual({ ok: false, data: [Buffer.from("FORBIDDEN")] });
    // The per-key downgrade: this key gets "none" although everyone else gets "basic".
    expect(text((await low.request(lowConn, "public.whoami")).data)).toEqual([
      toHex(downgraded.publicKey),
      "none",
      "-",
    ]);
  });

  test("typed commands called from C++ (bt-encoded payloads, status-first replies)", async () => {
    const echo = await c.request(conn, "rpc.echo", [btEncode({ text: "hi", times: 3 })]);
    expect(echo.ok).toBe(true);
    expect(echo.data[0]!.toString()).toBe("200");
    expect(btDecode(echo.data[1]!)).toEqual({ text: Buffer.from("hihihi") });
    for (const args of [[], [Buffer.alloc(0)]]) {
      // No arguments: no frame, or one empty frame as C++ callers often send.
      const info = await c.request(conn, "get_info", args);
      expect(info.data[0]!.toString()).toBe("200");
      expect((btDecode(info.data[1]!) as { network: Buffer }).network.toString()).toBe("devnet");
    }
    const bad = await c.request(conn, "rpc.headers", [btEncode({ from: 1, count: 101 })]);
    expect(text(bad.data)).toEqual(["400", "count must be at most 100"]);
    const notBt = await c.request(conn, "rpc.echo", ["not bt"]);
    expect(notBt.data[0]!.toString()).toBe("400");
    const admin = await c.request(conn, "system.set_log_level", [btEncode({ level: "info" })]);
    expect(admin.data[0]!.toString()).toBe("200");
  });

  test("two connections with one routing id: the second is served (handover)", async () => {
    c.ephemeralRoutingId(false);
    const second = await c.connect(curve); // same key, so the same routing id 'L' + pubkey
    expect(text((await c.request(second, "admin.whoami")).data)).toEqual([toHex(adminKeys.publicKey), "admin", "-"]);
    const third = await c.connect(curve);
    expect(text((await c.request(third, "public.echo", ["3"])).data)).toEqual(["3"]);
  });

  test("coalescing is never offered to a C++ client: 2,000 requests, 64 at a time, all answered", async () => {
    // A batch would reach the C++ client as an unknown command "BATCH", a packed reply as an unknown command too, and
    // its requests would time out.
    const b = await cpp();
    await b.start();
    const bc = await b.connect(curve);
    const r = await b.bench(bc, "public.echo", Buffer.from("x".repeat(100)), 2000, 64);
    expect(r).toMatchObject({ ok: 2000, failed: 0 });
    expect(b.logs.filter((l) => /BATCH|batch\/1/.test(l))).toEqual([]);
    expect(srv.logs.filter((l) => /batch/i.test(l.message))).toEqual([]);
  });

  test("plain: each connection gets allow(address)'s level and no key", async () => {
    const p = await cpp();
    await p.start();
    const pc = await p.connect(plain);
    expect(text((await p.request(pc, "basic.whoami")).data)).toEqual(["anonymous", "basic", "-"]);
    expect(await p.request(pc, "admin.whoami")).toEqual({ ok: false, data: [Buffer.from("FORBIDDEN")] });
    expect((await p.request(pc, "public.echo", binaryParts)).data).toEqual(binaryParts);
  });
});

describe("our client → C++ OxenMQ server", () => {
  let c: CppPeer;
  let ours: Awaited<ReturnType<typeof makeOmq>>;
  let conn: ConnectionID;
  let plainConn: ConnectionID;
  const noted: Noted[] = [];

  beforeAll(async () => {
    const keys = await generateKeyPair();
    c = await cpp();
    const [cp, pp] = [await freePort(), await freePort()];
    c.listen("curve", `tcp://127.0.0.1:${cp}`, `${toHex(keys.publicKey)}=admin,*=none`);
    c.listen("plain", `tcp://127.0.0.1:${pp}`, "127.0.0.1=basic");
    await c.start();
    ours = await makeOmq({ ...keys });
    serve(ours, noted);
    await ours.start();
    conn = await ours.connectRemote(`curve://127.0.0.1:${cp}/${c.pubkey}`);
    plainConn = await ours.connectRemote(`tcp://127.0.0.1:${pp}`);
  });

  test("the C++ server sees our key and gives us its allow() level", async () => {
    expect(text(await ours.request(conn, "admin.whoami"))).toEqual([toHex(ours.publicKey), "admin", "-"]);
    expect(c.allows.some((a) => a[1] === toHex(ours.publicKey) && a[3] === "admin")).toBe(true);
    expect(text(await ours.request(plainConn, "basic.whoami"))).toEqual(["anonymous", "basic", "-"]);
  });

  test("requests with several binary parts and the alias, plain and CURVE", async () => {
    for (const to of [conn, plainConn]) {
      expect(await ours.request(to, "public.echo", binaryParts)).toEqual(binaryParts);
      expect(text(await ours.request(to, "hello", ["z"]))).toEqual(["hello", "z"]);
    }
  });

  test("commands both ways", async () => {
    ours.send(conn, "public.note", ["n1", "n2"]);
    await waitFor(() => gotFrom(c, "public.note").length > 0, "note at the C++ server");
    expect(gotFrom(c, "public.note")[0]).toMatchObject({ pubkey: toHex(ours.publicKey), auth: "admin" });
    ours.send(conn, "public.ping", ["back"]);
    await waitFor(() => noted.some((n) => n.command === "client.pong"), "pong from the C++ server");
    expect(noted.find((n) => n.command === "client.pong")!.data).toEqual(["back"]);
  });

  test("a C++ server answers our batch offer with a plain HELLO, and gets plain frames: 150 requests in one turn", async () => {
    // The C++ server saw HI with two frames it ignores; a batch would be an unknown command "BATCH" to it, and so would
    // a packed first request. (150: C++ queues at most 200 commands of a category and drops the rest.)
    const before = gotFrom(c, "public.echo").length;
    const replies = await Promise.all(
      Array.from({ length: 150 }, (_, i) => ours.request(conn, "public.echo", [String(i)])),
    );
    expect(replies.map((r) => text(r))).toEqual(Array.from({ length: 150 }, (_, i) => [String(i)]));
    // The C++ peer reports each request on its stdout, which may trail the replies.
    await waitFor(() => gotFrom(c, "public.echo").length - before >= 150, "150 requests reported by the C++ server");
    expect(gotFrom(c, "public.echo").length - before).toBe(150);
    expect(c.logs.filter((l) => /BATCH|batch\/1|[Uu]nknown command|[Ii]nvalid command/.test(l))).toEqual([]);
  });

  test("every error word from the C++ server", async () => {
    await expect(ours.request(conn, "lsn.whoami")).rejects.toMatchObject({ code: "NOT_A_SERVICE_NODE" });
    await expect(ours.request(conn, "sn.whoami")).rejects.toMatchObject({ code: "FORBIDDEN_SN" });
    await expect(ours.request(plainConn, "admin.whoami")).rejects.toMatchObject({ code: "FORBIDDEN" });
    const t0 = Date.now();
    await expect(ours.request(conn, "public.nope", [], { timeout: 5000 })).rejects.toMatchObject({
      code: "UNKNOWNCOMMAND",
    });
    expect(Date.now() - t0).toBeLessThan(4000); // failed on the [UNKNOWNCOMMAND][cmd] answer, not the timeout
    ours.send(conn, "public.echo"); // a request command without a reply tag
    await waitFor(() => ours.logs.some((l) => l.message.includes("Received NO_REPLY_TAG:public.echo")), "NO_REPLY_TAG");
  });
});

describe("service-node mode with C++ nodes, both ways", () => {
  let nsn: Awaited<ReturnType<typeof makeOmq>>;
  let csn: CppPeer;
  let nKeys: KeyPair;
  let cKeys: KeyPair;
  let nAddr: string;
  let cAddr: string;
  const noted: Noted[] = [];
  const lookup = new Map<string, string>();

  beforeAll(async () => {
    nKeys = await generateKeyPair();
    cKeys = await generateKeyPair();
    nsn = await makeOmq({ ...nKeys, serviceNode: true, snLookup: (pk) => lookup.get(toHex(pk)) });
    serve(nsn, noted);
    const ep = nsn.listenCurve("tcp://127.0.0.1:0");
    await nsn.start();
    nAddr = await ep;
    csn = await cpp(cKeys, true);
    const port = await freePort();
    cAddr = `tcp://127.0.0.1:${port}`;
    csn.listen("curve", cAddr, "*=none");
    csn.lookup(toHex(nKeys.publicKey), nAddr);
    const active = [toHex(nKeys.publicKey), toHex(cKeys.publicKey)];
    csn.setActiveSNs(active);
    await csn.start();
    nsn.setActiveSNs([nKeys.publicKey, cKeys.publicKey]);
  });

  test("C++ SN → our SN: remoteSN commands, a typed SN request, and our strong send back by key", async () => {
    const to = `sn:${toHex(nKeys.publicKey)}`;
    expect(text((await csn.request(to, "snw.whoami")).data)).toEqual([toHex(cKeys.publicKey), "none", "sn"]);
    const vote = await csn.request(to, "sn.vote", [
      btEncode({ height: 5, hash: Buffer.alloc(32, 1), signature: Buffer.alloc(64, 2) }),
    ]);
    expect(vote.data[0]!.toString()).toBe("200");
    expect(btDecode(vote.data[1]!)).toEqual({ accepted: 1 });
    // We have no address for the C++ node: our send back can only go over its incoming connection.
    expect(lookup.has(toHex(cKeys.publicKey))).toBe(false);
    await csn.send(to, "snw.ping");
    await waitFor(() => gotFrom(csn, "sn.note").length > 0, "our note at the C++ node");
    expect(gotFrom(csn, "sn.note")[0]).toMatchObject({ pubkey: toHex(nKeys.publicKey), sn: true });
    // Later, by key alone, without a message to answer.
    nsn.send(ConnectionID.sn(cKeys.publicKey), "sn.note", ["by key"]);
    await waitFor(() => gotFrom(csn, "sn.note").some((g) => String(g.data[0]) === "by key"), "by key");
  });

  test("our SN → C++ SN: by key through the lookup, and the C++ node's strong send back", async () => {
    lookup.set(toHex(cKeys.publicKey), cAddr);
    const r = await nsn.request(ConnectionID.sn(cKeys.publicKey), "sn.whoami", [], { outgoing: true });
    expect(text(r)).toEqual([toHex(nKeys.publicKey), "none", "sn"]);
    nsn.send(ConnectionID.sn(cKeys.publicKey), "sn.ping", [], { outgoing: true });
    await waitFor(() => noted.some((n) => n.command === "snw.note"), "the C++ node's note");
    expect(noted.find((n) => n.command === "snw.note")).toMatchObject({
      pubkey: toHex(cKeys.publicKey),
      sn: true,
      data: ["pong from c++"],
    });
  });

  test("a C++ client that is not an active SN is refused remoteSN commands", async () => {
    const outsider = await cpp();
    await outsider.start();
    const oc = await outsider.connect(`curve://${nAddr.slice("tcp://".length)}/${toHex(nKeys.publicKey)}`);
    expect(await outsider.request(oc, "snw.whoami")).toEqual({ ok: false, data: [Buffer.from("FORBIDDEN_SN")] });
    expect(new Address(nAddr, nKeys.publicKey).isCurve).toBe(true);
  });
});
