import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import type { Dealer } from "zeromq";
import { Address, generateKeyPair, toHex, type KeyPair, type ListenOptions, type Message } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";
import { rawDealer, roundTrip } from "./helpers/raw.js";

// docs/identity.md: every message carries the key its connection authenticated with and the level allow() gave that
// connection, or something strictly weaker; peers are raw zeromq sockets that can send anything, empty frames too.

type Server = Awaited<ReturnType<typeof makeOmq>>;
const dealers: Dealer[] = [];
const L = (k: KeyPair): Buffer => Buffer.concat([Buffer.from("L"), k.publicKey]); // C++ OxenMQ's routing id

const who = (m: Message): void => m.reply(m.pubkey.length ? toHex(m.pubkey) : "anonymous", m.access.auth);

async function server(kind: "curve" | "plain", options: ListenOptions): Promise<{ omq: Server; endpoint: string }> {
  const omq = await makeOmq({ logLevel: "info" });
  omq.addCategory("pub", "none").addRequestCommand("whoami", who);
  omq.addCategory("mem", "basic").addRequestCommand("whoami", who);
  omq.addCategory("adm", "admin").addRequestCommand("whoami", who);
  const ep =
    kind === "curve" ? omq.listenCurve("tcp://127.0.0.1:0", options) : omq.listenPlain("tcp://127.0.0.1:0", options);
  await omq.start();
  return { omq, endpoint: await ep };
}

function dealer(endpoint: string, opts: Parameters<typeof rawDealer>[1]): Dealer {
  const d = rawDealer(endpoint, opts);
  dealers.push(d);
  return d;
}

const whoami = (d: Dealer, cat = "pub"): Promise<string[]> =>
  roundTrip(d, [`${cat}.whoami`, "t"]).then((f) => (f[0] === "REPLY" ? f.slice(2) : f));

afterAll(async () => {
  for (const d of dealers) d.close();
  await closeAll();
});

describe("every connection is identified, C++ OxenMQ and raw zeromq peers included", () => {
  let keys: KeyPair;
  let srv: { omq: Server; endpoint: string };
  beforeAll(async () => {
    keys = await generateKeyPair();
    srv = await server("curve", { allow: (_ip, pk) => (toHex(pk) === toHex(keys.publicKey) ? "admin" : "basic") });
  });

  test("a client that proves nothing beyond CURVE gets its key and allow() level", async () => {
    const tracked = srv.omq.connectionStats().tracked;
    for (const routingId of [L(keys), undefined, randomBytes(20)]) {
      const d = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys, ...(routingId ? { routingId } : {}) });
      expect(await whoami(d)).toEqual([toHex(keys.publicKey), "admin"]);
      expect(await whoami(d, "adm")).toEqual([toHex(keys.publicKey), "admin"]);
      d.close();
      // The next one connects once this one's disconnect has been handled: a peer without a routing id whose
      // handshake sees another connection's notification stays unattributed (docs/identity.md, limits).
      await waitFor(() => srv.omq.connectionStats().tracked === tracked, "the closed connection's route dropped");
    }
    const other = await generateKeyPair();
    const d = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys: other, routingId: L(other) });
    expect(await whoami(d, "mem")).toEqual([toHex(other.publicKey), "basic"]);
    expect(await roundTrip(d, ["adm.whoami", "t"])).toEqual(["FORBIDDEN", "REPLY", "t"]);
  });

  test("our own client is identified the same way", async () => {
    const client = await makeOmq({ ...keys });
    await client.start();
    const conn = await client.connectRemote(new Address(srv.endpoint, srv.omq.publicKey));
    expect((await client.request(conn, "adm.whoami")).map(String)).toEqual([toHex(keys.publicKey), "admin"]);
  });
});

test("allow()'s level is an upper bound: proving nothing never pays", async () => {
  const srv = await server("curve", { level: "basic", allow: () => "none" });
  const k = await generateKeyPair();
  const raw = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys: k });
  expect(await whoami(raw)).toEqual([toHex(k.publicKey), "none"]);
  expect(await roundTrip(raw, ["mem.whoami", "t"])).toEqual(["FORBIDDEN", "REPLY", "t"]);
  const client = await makeOmq({ ...k });
  await client.start();
  const conn = await client.connectRemote(new Address(srv.endpoint, srv.omq.publicKey));
  await expect(client.request(conn, "mem.whoami")).rejects.toMatchObject({ code: "FORBIDDEN" });
});

test("plain listeners give each connection the level allow(address) returned", async () => {
  const seen: string[] = [];
  const srv = await server("plain", {
    allow: (ip, pk) => {
      seen.push(`${ip}/${pk.length}`);
      return ip === "127.0.0.1" ? "admin" : "basic";
    },
  });
  const local = dealer(srv.endpoint, {});
  const other = dealer(srv.endpoint, { from: "127.0.0.2" });
  expect(await whoami(local, "adm")).toEqual(["anonymous", "admin"]);
  expect(await whoami(other, "mem")).toEqual(["anonymous", "basic"]);
  expect(await roundTrip(other, ["adm.whoami", "t"])).toEqual(["FORBIDDEN", "REPLY", "t"]);
  expect(seen.sort()).toEqual(["127.0.0.1/0", "127.0.0.2/0"]);
});

test("a second connection with a routing id in use is served (handover), and a later one after it left", async () => {
  const k = await generateKeyPair();
  const srv = await server("curve", { allow: () => "basic" });
  const first = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys: k, routingId: L(k) });
  expect(await whoami(first, "mem")).toEqual([toHex(k.publicKey), "basic"]);
  const second = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys: k, routingId: L(k), receiveTimeout: 5000 });
  expect(await whoami(second, "mem")).toEqual([toHex(k.publicKey), "basic"]);
  second.close();
  const third = dealer(srv.endpoint, { serverKey: srv.omq.publicKey, keys: k, routingId: L(k), receiveTimeout: 5000 });
  expect(await whoami(third, "mem")).toEqual([toHex(k.publicKey), "basic"]);
});

test("a connection that lost its route keeps sending, then hangs up: the process survives (libzmq issue #4841)", async () => {
  // With ZMTP heartbeats (what connHeartbeat used to set), libzmq 4.3.5 aborts the process here: the old connection's
  // input stalls (its pipe was handed over), the hang-up sets its I/O error, and the next heartbeat asserts.
  const omq = await makeOmq({ connHeartbeat: 100, connHeartbeatTimeout: 300 });
  omq.addCategory("pub", "none").addRequestCommand("whoami", who);
  const ep = omq.listenCurve("tcp://127.0.0.1:0");
  await omq.start();
  const endpoint = await ep;
  const k = await generateKeyPair();
  const old = dealer(endpoint, { serverKey: omq.publicKey, keys: k, routingId: L(k) });
  expect(await whoami(old)).toEqual([toHex(k.publicKey), "none"]);
  const taker = dealer(endpoint, { serverKey: omq.publicKey, keys: k, routingId: L(k) });
  expect(await whoami(taker)).toEqual([toHex(k.publicKey), "none"]);
  for (let i = 0; i < 200; i++) await old.send(["pub.whoami", `x${i}`]);
  await new Promise((r) => setTimeout(r, 100));
  old.close();
  await new Promise((r) => setTimeout(r, 600)); // several heartbeat intervals
  expect(await whoami(taker)).toEqual([toHex(k.publicKey), "none"]);
});
