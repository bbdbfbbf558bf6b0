import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { connect as netConnect } from "node:net";
import sodium from "libsodium-wrappers";
import { Dealer } from "zeromq";
import { toZ85 } from "../runtime/base/encoding.js";
import { generateKeyPair, toHex, type KeyPair, type Message } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

// docs/identity.md, attacks 4 and 5 and the handover races: an attacker with a connection of its own (raw zeromq, so
// it can send empty frames that look exactly like libzmq's notifications, and pick any routing id) races a victim's
// handshake, many rounds; a single escalation, or a single message of the victim's reaching the attacker, fails.

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rand = (n: number): number => Math.floor(Math.random() * n);

let omq: Awaited<ReturnType<typeof makeOmq>>;
let endpoint: string;
let victim: KeyPair;
let attacker: KeyPair;
let victimHex: string;
let attackerHex: string;
/** Keys that allow() makes admin from 127.0.0.1 (and "none" from elsewhere). */
const adminKeys = new Set<string>();

beforeAll(async () => {
  await sodium.ready;
  victim = await generateKeyPair();
  attacker = await generateKeyPair();
  victimHex = toHex(victim.publicKey);
  attackerHex = toHex(attacker.publicKey);
  adminKeys.add(victimHex);
  omq = await makeOmq({ logLevel: "debug" });
  const who = (m: Message): void => m.reply(m.pubkey.length ? toHex(m.pubkey) : "anonymous", m.access.auth);
  omq.addCategory("pub", "none").addRequestCommand("whoami", who);
  omq
    .addCategory("adm", "admin")
    .addRequestCommand("whoami", who)
    .addRequestCommand("secret", (m) => {
      // A reply that comes later, after a takeover of the caller's route may have happened.
      const later = m.later();
      const to = m.pubkey.length ? toHex(m.pubkey) : "anonymous";
      setTimeout(() => later.reply(`secret for ${to}`), 2 + rand(10));
    });
  // The victim's key is admin from 127.0.0.1 and "none" from anywhere else (attack 4 uses the same key from
  // 127.0.0.2); its decision takes a little while, so handshakes overlap with the attacker's frames.
  const ep = omq.listenCurve("tcp://127.0.0.1:0", {
    allow: async (ip, pk) => {
      if (!adminKeys.has(toHex(pk))) return "none";
      await sleep(rand(3));
      return ip === "127.0.0.1" ? "admin" : "none";
    },
  });
  await omq.start();
  endpoint = await ep;
});
afterAll(async () => {
  if (process.env.DEBUG_ROUNDS) {
    const counts = new Map<string, number>();
    for (const l of omq.logs) {
      const m = /resolved \((\w+); (\d+) ambiguous/.exec(l.message) ?? /(Empty frame on a known route)/.exec(l.message);
      if (m) counts.set(m.slice(1).join(" "), (counts.get(m.slice(1).join(" ")) ?? 0) + 1);
    }
    console.log(counts);
  }
  for (const p of peers) p.close();
  await closeAll();
});

const peers = new Set<Peer>();

/** A raw peer that records everything it receives; closed after the tests at the latest (even when one fails). */
class Peer {
  readonly got: string[][] = [];
  readonly socket: Dealer;
  constructor(keys: KeyPair, from: string, routingId?: Buffer) {
    const socket = new Dealer({
      linger: 0,
      sendTimeout: 0,
      curveServerKey: toZ85(omq.publicKey),
      curvePublicKey: toZ85(keys.publicKey),
      curveSecretKey: toZ85(keys.secretKey),
    });
    this.socket = socket;
    peers.add(this);
    if (routingId) (socket as unknown as { setStringOption(o: number, v: Buffer): void }).setStringOption(5, routingId);
    socket.connect(endpoint.replace("tcp://", `tcp://${from}:0;`));
    void (async () => {
      for (;;) {
        try {
          this.got.push((await socket.receive()).map(String));
        } catch {
          return;
        }
      }
    })();
  }
  send(...frames: string[]): void {
    this.socket.send(frames).catch(() => {});
  }
  /** Frames that look exactly like libzmq's connect/disconnect notifications. */
  forge(n: number): void {
    for (let i = 0; i < n; i++) this.send("");
  }
  /** Replies to the request with this tag: `[REPLY][tag]…` or the error form `[ERR][REPLY][tag]`. */
  replies(tag: string): string[][] {
    return this.got.filter((f) => tagOf(f) === tag);
  }
  close(): void {
    peers.delete(this);
    this.socket.close();
  }
}

function tagOf(f: string[]): string | undefined {
  return f[0] === "REPLY" ? f[1] : f[1] === "REPLY" ? f[2] : undefined;
}

/**
 * A routing id in the "route proof" format an earlier version of this listener trusted (a crypto_box of a context
 * string to the server's key): the attacker holds the key, so it can make one. It must gain nothing now.
 */
function legacyProof(keys: KeyPair): Buffer {
  const nonce = randomBytes(24);
  const box = sodium.crypto_box_easy(Buffer.from("oxenmq-ts route proof v1"), nonce, omq.publicKey, keys.secretKey);
  return Buffer.concat([Buffer.from([0xa5, 0x50]), keys.publicKey, nonce, box]);
}

interface Tally {
  attackerAnswered: number;
  victimAnswered: number;
  victimDegraded: number;
}

function checkAttacker(a: Peer, ownHex: string, victimKeyHex = victimHex): void {
  for (const f of a.got) {
    // Never the victim's key, never admin, never a reply or secret meant for the victim.
    expect(f.join("|")).not.toContain(`secret for ${victimKeyHex}`);
    const tag = tagOf(f);
    if (tag === "v1" || tag === "v2" || tag === "vs") throw new Error(`attacker got the victim's reply ${f.join("|")}`);
    if (f[0] === "REPLY" && (f[1] === "a1" || f[1] === "a2")) {
      const who = f[2] === victimKeyHex ? "the victim's key" : f[2] === ownHex ? "its own key" : "another key";
      expect(`${[ownHex, "anonymous"].includes(f[2]!) ? "ok" : `served as ${who}`}: ${f.join("|")}`).toMatch(/^ok/);
      expect(f[3]).toBe("none");
    }
    if (f[1] === "as") expect(f).toEqual(["FORBIDDEN", "REPLY", "as"]);
  }
}

function checkVictim(v: Peer, t: Tally, victimKeyHex = victimHex): void {
  for (const f of v.got) {
    if (victimKeyHex === victimHex) expect(f.join("|")).not.toContain(attackerHex);
    if (f[0] === "REPLY" && (f[1] === "v1" || f[1] === "v2")) {
      expect([victimKeyHex, "anonymous"]).toContain(f[2]);
      if (f[2] !== victimKeyHex || f[3] !== "admin") t.victimDegraded++;
    }
  }
  if (v.replies("v1").length || v.replies("v2").length) t.victimAnswered++;
}

/** Waits for the expected replies (some never come when a route was taken over), then closes the peers. */
async function settle(peers: Peer[], done: () => boolean, maxMs = 400): Promise<void> {
  await waitFor(done, "replies", maxMs).catch(() => {});
  for (const p of peers) p.close();
}

test(`attack 4: the same key from another address forges notifications around the admin handshake (${ROUNDS} rounds)`, async () => {
  const t: Tally = { attackerAnswered: 0, victimAnswered: 0, victimDegraded: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh admin key each round (nothing left over from earlier rounds). The attacker holds it too, but connects
    // from 127.0.0.2, where allow() gives it "none"; its routing id is random, C++ OxenMQ's form for the key, or a
    // proof of the key in the format an earlier version of this listener trusted.
    const key = await generateKeyPair();
    const keyHex = toHex(key.publicKey);
    adminKeys.add(keyHex);
    const routes = [undefined, Buffer.concat([Buffer.from("L"), key.publicKey]), legacyProof(key)];
    const a = new Peer(key, "127.0.0.2", routes[round % 3]);
    a.send("pub.whoami", "a1");
    await waitFor(() => a.replies("a1").length > 0, "attacker connected", 5000);
    const v = new Peer(key, "127.0.0.1");
    const phase = rand(4);
    if (phase === 0) a.forge(1 + rand(3));
    await sleep(rand(3));
    if (phase <= 1) a.forge(1 + rand(3));
    v.send("pub.whoami", "v1");
    await sleep(rand(3));
    if (phase >= 2) a.forge(2);
    a.send("pub.whoami", "a2");
    a.send("adm.secret", "as");
    v.send("adm.whoami", "v2");
    await settle([a, v], () => a.replies("a2").length > 0 && a.replies("as").length > 0 && v.replies("v2").length > 0);
    checkAttacker(a, keyHex, keyHex);
    checkVictim(v, t, keyHex);
    if (a.replies("a2").length) t.attackerAnswered++;
  }
  // The races were real: both sides were served in most rounds.
  expect(t.attackerAnswered).toBeGreaterThan(ROUNDS / 2);
  expect(t.victimAnswered).toBeGreaterThan(ROUNDS / 2);
}, 120_000);

test(`handover races: an attacker takes the victim's routing id before, during and after its handshake, forging notifications (${ROUNDS} rounds)`, async () => {
  const t: Tally = { attackerAnswered: 0, victimAnswered: 0, victimDegraded: 0 };
  let takeovers = 0;
  // Whether the connection that came second on the route was served (as C++ OxenMQ serves it: handover).
  const secondServed = { first: 0, after: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const route = Buffer.concat([Buffer.from("L"), victim.publicKey]); // C++ OxenMQ's routing id: public knowledge
    const phase = round % 3; // attacker first, concurrently, or after the victim is connected
    let a: Peer | undefined;
    if (phase === 0) {
      a = new Peer(attacker, "127.0.0.2", route);
      a.send("pub.whoami", "a1");
      a.forge(rand(3));
      await sleep(rand(4));
    }
    const v = new Peer(victim, "127.0.0.1", route);
    v.send("pub.whoami", "v1");
    v.send("adm.secret", "vs"); // answered a few ms later: the attacker may hold the route by then
    if (phase === 1) {
      a = new Peer(attacker, "127.0.0.2", route);
      a.forge(rand(3));
      a.send("pub.whoami", "a1");
    }
    if (phase === 2) {
      await waitFor(() => v.replies("v1").length > 0, "victim connected", 5000).catch(() => {});
      a = new Peer(attacker, "127.0.0.2", route);
      a.send("pub.whoami", "a1");
    }
    await sleep(rand(4));
    a!.forge(rand(3));
    a!.send("pub.whoami", "a2");
    a!.send("adm.secret", "as");
    v.send("adm.whoami", "v2");
    // The victim's secret is answered 2-12 ms after its request; a victim that lost its route never gets it.
    await settle([a!, v], () => a!.replies("a2").length > 0 && v.replies("vs").length > 0, 150);
    checkAttacker(a!, attackerHex);
    checkVictim(v, t);
    if (a!.replies("a2").length) t.attackerAnswered++;
    if (v.replies("vs").length === 0) takeovers++;
    if (phase === 0 && v.replies("v2").length) secondServed.first++;
    if (phase === 2 && a!.replies("a2").length) secondServed.after++;
  }
  expect(t.attackerAnswered).toBeGreaterThan(ROUNDS / 4);
  expect(t.victimAnswered).toBeGreaterThan(ROUNDS / 4);
  expect(takeovers).toBeGreaterThan(0); // some victims really lost their route to the attacker
  // The later connection gets the route (without handover it would wait forever); allow a few slow rounds.
  expect(secondServed.first).toBeGreaterThan((ROUNDS / 3) * 0.8);
  expect(secondServed.after).toBeGreaterThan((ROUNDS / 3) * 0.8);
}, 180_000);

test("connections that close, with and without forged notifications, leave no routes behind", async () => {
  const before = omq.connectionStats().tracked;
  let peak = 0;
  for (let batch = 0; batch < 10; batch++) {
    const peers: Peer[] = [];
    for (let i = 0; i < 50; i++) {
      const p = new Peer(attacker, "127.0.0.2");
      peers.push(p);
      p.send("pub.whoami", "w");
    }
    await waitFor(() => peers.every((p) => p.replies("w").length > 0), "all connected", 10_000);
    peers.forEach((p, i) => p.forge(i % 3)); // 0, 1 or 2 forged notifications before closing
    await sleep(5);
    peak = Math.max(peak, omq.connectionStats().tracked);
    for (const p of peers) p.close();
  }
  expect(peak).toBeLessThanOrEqual(before + 150);
  await waitFor(() => omq.connectionStats().tracked <= before, "routes of closed connections dropped", 15_000);
}, 60_000);

test("a connected peer forging notifications keeps one route and its own identity", async () => {
  const p = new Peer(attacker, "127.0.0.2");
  p.send("pub.whoami", "w0");
  await waitFor(() => p.replies("w0").length > 0, "connected");
  const before = omq.connectionStats().tracked;
  for (let i = 0; i < 50; i++) {
    p.forge(1 + (i % 2));
    p.send("pub.whoami", `w${i + 1}`);
    if (i % 10 === 0) await sleep(10);
  }
  await waitFor(() => p.replies("w50").length > 0, "all answered");
  for (let i = 0; i <= 50; i++) expect(p.replies(`w${i}`)[0]!.slice(2)).toEqual([attackerHex, "none"]);
  // No route added (routes of earlier tests' closed connections may be dropped meanwhile).
  expect(omq.connectionStats().tracked).toBeLessThanOrEqual(before);
  p.close();
});

describe("handshakes that end early, slow allow() callbacks and garbage greetings (review findings 2-4)", () => {
  test("handshakes abandoned at every moment neither crash nor block the listener", async () => {
    for (let i = 0; i < 300; i++) {
      const d = new Peer(attacker, "127.0.0.2");
      await sleep(rand(4));
      d.close();
    }
    // With a routing id, as OxenMQ clients have: a peer without one may stay unattributed when other connections'
    // notifications arrive during its handshake (docs/identity.md, limits).
    const p = new Peer(attacker, "127.0.0.2", Buffer.concat([Buffer.from("r"), randomBytes(16)]));
    p.send("pub.whoami", "after");
    await waitFor(() => p.replies("after").length > 0, "an honest handshake after 300 abandoned ones", 10_000);
    expect(p.replies("after")[0]!.slice(2)).toEqual([attackerHex, "none"]);
    p.close();
  }, 60_000);

  test("abandoned handshakes do not make an honest one wait for each slow allow() decision", async () => {
    let inFlight = 0;
    let most = 0;
    // The first decisions wait until the test sees 20 of them pending at once (which serialized decisions never
    // reach), later ones take 25 ms each.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let open = false;
    const slow = await makeOmq();
    slow.addCategory("pub", "none").addRequestCommand("whoami", (m) => m.reply(toHex(m.pubkey)));
    const ep = slow.listenCurve("tcp://127.0.0.1:0", {
      allow: async () => {
        most = Math.max(most, ++inFlight);
        await (open ? sleep(25) : released);
        inFlight--;
        return "none" as const;
      },
    });
    await slow.start();
    const bound = await ep;
    const socks: Dealer[] = [];
    // Fewer than libzmq's listen backlog (100): beyond it the kernel drops SYNs, and the client's retry takes 1 s.
    for (let i = 0; i < 80; i++) {
      const d = new Dealer({
        linger: 0,
        curveServerKey: toZ85(slow.publicKey),
        curvePublicKey: toZ85(attacker.publicKey),
        curveSecretKey: toZ85(attacker.secretKey),
      });
      d.connect(bound);
      socks.push(d);
    }
    try {
      await waitFor(() => most >= 20, "20 allow() decisions pending at once", 20_000);
    } finally {
      for (const d of socks) d.close(); // handshakes abandoned while their allow() decisions are pending
      open = true;
      release();
    }
    const client = await makeOmq({ ...victim });
    await client.start();
    const conn = await client.connectRemote(`curve://${bound.slice("tcp://".length)}/${toHex(slow.publicKey)}`);
    expect((await client.request(conn, "pub.whoami")).map(String)).toEqual([victimHex]);
  }, 60_000);

  test("connections that send garbage instead of a ZMTP greeting do not set off route checks", async () => {
    // Idle honest connections: a miscounted sweep would check every one of them, again every two seconds.
    const idle = Array.from({ length: 20 }, (_, i) => {
      const p = new Peer(attacker, "127.0.0.2");
      p.send("pub.whoami", `i${i}`);
      return p;
    });
    await waitFor(() => idle.every((p) => p.got.length > 0), "idle connections up");
    const checked = (): number =>
      omq.logs
        .map((l) => /^Stale-route sweep: .* checking (\d+)/.exec(l.message))
        .reduce((n, m) => n + (m ? Number(m[1]) : 0), 0);
    const before = checked();
    const port = Number(endpoint.split(":").pop());
    await Promise.all(
      Array.from(
        { length: 100 },
        () =>
          new Promise<void>((resolve) => {
            const s = netConnect(port, "127.0.0.1", () => s.end("GET / HTTP/1.0\r\n\r\n"));
            s.on("close", () => resolve());
            s.on("error", () => resolve());
            s.resume();
          }),
      ),
    );
    await sleep(4500); // two more sweep intervals
    expect(checked() - before).toBeLessThanOrEqual(2); // at most a transient: a disconnect seen before its notification
    for (const p of idle) p.close();
  }, 30_000);
});
