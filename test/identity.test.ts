import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import type { Dealer } from "zeromq";
import { Address, generateKeyPair, toHex, type KeyPair } from "../runtime/index.js";
import { makeProofRoute } from "../runtime/proof.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";
import { rawDealer, roundTrip } from "./helpers/raw.js";

// Reference §4.1: a client holding key K is never treated as key P, and a client admitted at "none" never
// reaches basic/admin commands.
let server: Awaited<ReturnType<typeof makeOmq>>;
let endpoint: string;
let port: string;
let victim: KeyPair;
let attacker: KeyPair;
const dealers: Dealer[] = [];

const whoami = (d: Dealer): Promise<string[]> => roundTrip(d, ["pub.whoami", "t"]).then((f) => f.slice(2));
const adminWhoami = (d: Dealer): Promise<string[]> => roundTrip(d, ["adm.whoami", "t"]);
function dealer(keys: KeyPair, routingId?: Buffer, from?: string): Dealer {
  const ep = from ? `tcp://${from}:0;127.0.0.1:${port}` : endpoint;
  const d = rawDealer(ep, { serverKey: server.publicKey, keys, ...(routingId ? { routingId } : {}) });
  dealers.push(d);
  return d;
}

beforeAll(async () => {
  victim = await generateKeyPair();
  attacker = await generateKeyPair();
  server = await makeOmq();
  const who = (m: { pubkey: Uint8Array; access: { auth: string }; reply: (...d: string[]) => void }): void =>
    m.reply(m.pubkey.length ? toHex(m.pubkey) : "anonymous", m.access.auth);
  server.addCategory("pub", "none").addRequestCommand("whoami", who);
  server.addCategory("adm", "admin").addRequestCommand("whoami", who);
  // The victim's key is admin when it connects from 127.0.0.1 and "none" from 127.0.0.2; everyone else "none".
  const ep = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (ip, pk) => (toHex(pk) === toHex(victim.publicKey) && ip === "127.0.0.1" ? "admin" : "none"),
  });
  await server.start();
  endpoint = await ep;
  port = endpoint.split(":").pop()!;
});
afterAll(async () => {
  for (const d of dealers) d.close();
  await closeAll();
});

test("an honest client's key and level reach the handler", async () => {
  const d = dealer(victim, makeProofRoute(victim.publicKey, victim.secretKey, server.publicKey));
  expect(await whoami(d)).toEqual([toHex(victim.publicKey), "admin"]);
  expect((await adminWhoami(d)).slice(0, 2)).toEqual(["REPLY", "t"]);
  d.close();
});

test("our OxenMQ client proves its key too (and a C++-style client without proof is anonymous)", async () => {
  const client = await makeOmq({ publicKey: attacker.publicKey, secretKey: attacker.secretKey });
  await client.start();
  const conn = await client.connectRemote(new Address(endpoint, server.publicKey));
  const reply = await client.request(conn, "pub.whoami");
  expect(reply.map(String)).toEqual([toHex(attacker.publicKey), "none"]);
  const third = await generateKeyPair();
  const cpp = dealer(third, Buffer.concat([Buffer.from("L"), third.publicKey]));
  expect(await whoami(cpp)).toEqual(["anonymous", "none"]);
});

test("sending the victim's public key without a valid proof", async () => {
  const forged = (): Buffer => {
    const f = Buffer.from(makeProofRoute(victim.publicKey, victim.secretKey, server.publicKey));
    f.set(randomBytes(40), f.length - 40); // keep magic + victim pubkey + nonce, garbage box
    return f;
  };
  expect(await whoami(dealer(attacker, forged()))).toEqual(["anonymous", "none"]);
  expect(await adminWhoami(dealer(attacker, forged()))).toEqual(["FORBIDDEN", "REPLY", "t"]);
});

test("replaying a proof made for another server", async () => {
  const other = await generateKeyPair();
  const proof = makeProofRoute(victim.publicKey, victim.secretKey, other.publicKey);
  expect(await whoami(dealer(attacker, proof))).toEqual(["anonymous", "none"]);
});

test("using the routing id (proof) of a connected client, and after it left", async () => {
  const route = makeProofRoute(victim.publicKey, victim.secretKey, server.publicKey);
  const honest = dealer(victim, route);
  expect(await whoami(honest)).toEqual([toHex(victim.publicKey), "admin"]);
  // While the owner is connected, libzmq (handover off) never routes the duplicate: no reply at all, or anonymous.
  const thief = dealer(attacker, route);
  thief.receiveTimeout = 500;
  const stolen = await whoami(thief).catch((err: { code?: string }) => [err.code ?? "error"]);
  expect([["EAGAIN"], ["anonymous", "none"]]).toContainEqual(stolen);
  expect(await whoami(honest)).toEqual([toHex(victim.publicKey), "admin"]); // not taken over
  honest.close();
  thief.close();
  // Whether or not the server has seen the owner leave yet, the thief stays anonymous.
  const late = dealer(attacker, route);
  expect(await whoami(late)).toEqual(["anonymous", "none"]);
  late.close();
  // The real owner comes back with the same routing id and is recognised again (once the thief's route is gone).
  let back: string[] = [];
  await waitFor(
    () => back[0] === toHex(victim.publicKey),
    "owner recognised again",
    10_000,
    async () => {
      const d = dealer(victim, route);
      back = await whoami(d);
      d.close();
    },
  );
  expect(back).toEqual([toHex(victim.publicKey), "admin"]);
});

test("a key admitted at none never reaches admin, whatever the order of its connections", async () => {
  for (let round = 0; round < 6; round++) {
    const low = () => dealer(victim, makeProofRoute(victim.publicKey, victim.secretKey, server.publicKey), "127.0.0.2");
    const high = () =>
      dealer(victim, makeProofRoute(victim.publicKey, victim.secretKey, server.publicKey), "127.0.0.1");
    const [a, b] =
      round % 2
        ? [low(), high()]
        : (() => {
            const h = high();
            return [low(), h];
          })();
    const [lowWho, highWho] =
      round % 3 === 0 ? await Promise.all([whoami(a), whoami(b)]) : [await whoami(a), await whoami(b)];
    expect(lowWho).toEqual([toHex(victim.publicKey), "none"]);
    expect(highWho[0]).toBe(toHex(victim.publicKey)); // admin, or none when both handshakes were pending together
    expect(await adminWhoami(a)).toEqual(["FORBIDDEN", "REPLY", "t"]);
    a.close();
    b.close();
  }
});
