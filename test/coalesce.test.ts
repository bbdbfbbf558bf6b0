import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { Dealer, Router } from "zeromq";
import { Log } from "../runtime/base/log.js";
import { Outgoing } from "../runtime/net/outgoing.js";
import { toZ85 } from "../runtime/base/encoding.js";
import { Address, generateKeyPair, toHex, type KeyPair, type Message } from "../runtime/index.js";
import {
  BATCH_FEATURE,
  Coalescer,
  isPacked,
  MAX_BATCH_MESSAGES,
  PACK_BYTES,
  packBatch,
  packLeading,
  SEND_BATCH_MESSAGES,
  unpackBatch,
  unpackLeading,
  type BatchLink,
} from "../runtime/wire/batch.js";
import type { Frame } from "../runtime/wire/frames.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";
import { rawDealer } from "./helpers/raw.js";

// docs/protocol.md#coalescing: batches between nodes of this library, negotiated on HI/HELLO; peers that did not ask
// (C++ OxenMQ) see plain frames only. Peers here are raw zeromq sockets that can send anything.

const B = (s: string | number): Buffer => Buffer.from(String(s));
const str = (frames: readonly Frame[]): string[] => frames.map((f) => Buffer.from(f).toString());
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
/** A message's parts as they were meant: a packed message unpacked, any other as it is. */
const unpacked = (frames: readonly Frame[]): Buffer[] => {
  const bufs = frames.map((f) => Buffer.from(f));
  return isPacked(bufs[0]!) ? (unpackLeading(bufs) as Buffer[]) : bufs;
};

/** A batch body written by hand: per message, its frame count, then each frame as a 4-byte length and its bytes. */
function body(...messages: Array<Array<string | Buffer>>): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    parts.push(Buffer.from([m.length]));
    for (const f of m) {
      const b = Buffer.from(f);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

describe("batch framing", () => {
  test("pack writes the documented layout; unpack reads it back", () => {
    const msgs = [[B("a.b")], [B("REPLY"), B("tag"), B(""), B("x")], [B("c.d"), randomBytes(300)]];
    const packed = packBatch(msgs) as Buffer[];
    expect(packed.length).toBe(2);
    expect(packed[0]!.toString()).toBe("BATCH");
    expect(packed[1]).toEqual(body(...msgs));
    const out = unpackBatch(packed) as Buffer[][];
    expect(out).toEqual(msgs);
    expect(packBatch([["a.b", "é"], [B("c")]])[1]).toEqual(body(["a.b", "é"], ["c"])); // strings as UTF-8
  });

  test("a frame a handler keeps does not keep the rest of the batch, nor of its message, in memory", () => {
    const big = Buffer.alloc(900_000);
    const out = unpackBatch([
      B("BATCH"),
      body(["a.keep", "token"], ["x.y", big], ["a.keep", "key", big]),
    ]) as Buffer[][];
    expect(out[0]![1]!.toString()).toBe("token");
    expect(out[0]![1]!.buffer.byteLength).toBeLessThan(100_000);
    expect(out[1]![1]!.length).toBe(900_000);
    expect(out[2]![1]!.toString()).toBe("key");
    expect(out[2]![1]!.buffer.byteLength).toBeLessThan(100_000);
  });

  const ok = body(["a.b", "1"], ["c.d"]);
  const cut = (b: Buffer, n: number): Buffer => b.subarray(0, b.length - n);
  test.each<[string, Buffer[]]>([
    ["no body", [B("BATCH")]],
    ["an empty body", [B("BATCH"), Buffer.alloc(0)]],
    ["a third frame", [B("BATCH"), ok, B("extra")]],
    ["a message of zero frames", [B("BATCH"), Buffer.concat([Buffer.from([0]), ok])]],
    ["a length past the end", [B("BATCH"), cut(ok, 1)]],
    ["a length cut short", [B("BATCH"), Buffer.concat([ok, Buffer.from([1, 0, 0])])]],
    ["a frame count past the end", [B("BATCH"), Buffer.concat([ok, Buffer.from([2, 0, 0, 0, 1, 0x61])])]],
    ["a nested batch", [B("BATCH"), body(["a.b"], ["BATCH", "x"])]],
    ["a packed message", [B("BATCH"), body(["a.b"], [Buffer.from([0, 1, 0, 0, 0, 3, 0x61, 0x2e, 0x62]), "x"])]],
    ["an empty command", [B("BATCH"), body(["a.b"], ["", "x"])]],
    ["a HI", [B("BATCH"), body(["a.b"], ["HI", "batch/1", "-1"])]],
    ["a HELLO", [B("BATCH"), body(["HELLO"], ["a.b"])]],
    ["a BYE", [B("BATCH"), body(["a.b"], ["BYE"])]],
    [
      "more messages than a batch may hold",
      [B("BATCH"), body(...Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => ["a.b"]))],
    ],
  ])("rejected whole: %s", (_what, frames) => {
    expect(typeof unpackBatch(frames)).toBe("string");
  });
  test("as many messages as a batch may hold are accepted", () => {
    const frames = [B("BATCH"), body(...Array.from({ length: MAX_BATCH_MESSAGES }, () => ["a.b"]))];
    expect((unpackBatch(frames) as Buffer[][]).length).toBe(MAX_BATCH_MESSAGES);
  });
});

describe("packed messages", () => {
  /** A packed first frame written by hand: a zero byte, the part count, each part as a 4-byte length and its bytes. */
  const head = (...parts: Array<string | Buffer>): Buffer => Buffer.concat([Buffer.from([0]), body(parts)]);

  test("the leading parts that fit in 128 bytes go in the first frame, in the documented layout; the rest follow", () => {
    const payload = Buffer.alloc(112, "p");
    const packed = packLeading([B("REPLY"), "0123456789abcde", B("200"), payload], 1 << 20);
    expect(packed.length).toBe(2);
    expect(packed[0]).toEqual(head("REPLY", "0123456789abcde", "200"));
    expect(packed[1]).toBe(payload); // as it was: not copied
    expect(unpacked(packed)).toEqual([B("REPLY"), B("0123456789abcde"), B("200"), payload]);
    // A small message is one frame; strings go as UTF-8.
    expect(packLeading(["a.b", "é", B("")], 1 << 20)).toEqual([head("a.b", "é", "")]);
  });

  test("a message of which fewer than two parts fit goes as it is", () => {
    const big = [B("a.b"), Buffer.alloc(200)];
    expect(packLeading(big, 1 << 20)).toBe(big);
    const longName = [B("x".repeat(130)), B("1"), B("2")];
    expect(packLeading(longName, 1 << 20)).toBe(longName);
    const one = [B("a.b")];
    expect(packLeading(one, 1 << 20)).toBe(one);
  });

  test("the peer's largest frame caps the packed frame when it is smaller than 128 bytes", () => {
    const frames = [B("a.b"), B("1234567890"), B("x")];
    expect(packLeading(frames, 30).map((f) => f.length)).toEqual([2 + 7 + 14 + 5]); // all three
    const capped = packLeading(frames, 25);
    expect(capped.map((f) => f.length)).toEqual([2 + 7 + 14, 1]); // two; the third follows
    expect(unpacked(capped).map(String)).toEqual(["a.b", "1234567890", "x"]);
    expect(packLeading(frames, 20)).toBe(frames); // only one would fit
  });

  test("random messages: the first frame never exceeds 128 bytes and unpacks to the message (many rounds)", () => {
    for (let round = 0; round < 2000; round++) {
      const n = 1 + Math.floor(Math.random() * 8);
      const frames: Frame[] = [B(`c.${round}`)];
      for (let i = 1; i < n; i++) {
        const len = Math.random() < 0.8 ? Math.floor(Math.random() * 60) : 100 + Math.floor(Math.random() * 60);
        frames.push(Math.random() < 0.3 ? "ü".repeat(len >> 1) : randomBytes(len));
      }
      const size = (f: Frame | undefined): number => (f === undefined ? 0 : Buffer.from(f).length);
      const packed = packLeading(frames, 1 << 20);
      if (packed === frames) {
        // As it is only when fewer than two parts fit.
        expect(n === 1 || 2 + 4 + size(frames[0]) + 4 + size(frames[1]) > PACK_BYTES).toBe(true);
        continue;
      }
      const first = Buffer.from(packed[0]!);
      expect(first[0]).toBe(0);
      expect(first.length).toBeLessThanOrEqual(PACK_BYTES);
      // As many as fit: the next part, if any, would not have.
      if (packed.length > 1) expect(first.length + 4 + size(packed[1])).toBeGreaterThan(PACK_BYTES);
      expect(unpacked(packed)).toEqual(frames.map((f) => Buffer.from(f)));
    }
  });

  test.each<[string, Buffer[]]>([
    ["no part count", [Buffer.from([0])]],
    ["zero parts", [Buffer.from([0, 0])]],
    ["a length past the end", [head("a.b", "xy").subarray(0, -1)]],
    ["a length cut short", [Buffer.concat([Buffer.from([0, 2]), body(["a.b"]).subarray(1), Buffer.from([0, 0])])]],
    ["bytes after the last part", [Buffer.concat([head("a.b", "x"), Buffer.from([1])]), B("y")]],
    ["an empty command", [head("", "x")]],
    ["packed twice", [head(head("a.b", "x"), "y")]],
    ["a batch inside", [head("BATCH", body(["a.b"]))]],
    ["a HI", [head("HI", BATCH_FEATURE, "-1")]],
    ["a HELLO", [head("HELLO", BATCH_FEATURE)]],
    ["a BYE", [head("BYE")]],
    ["a first frame over 128 bytes", [head("a.b", Buffer.alloc(PACK_BYTES))]],
  ])("rejected: %s", (_what, frames) => {
    expect(typeof unpackLeading(frames)).toBe("string");
  });
});

describe("Coalescer", () => {
  function link(limit: number | undefined = 1 << 20) {
    const sent: Frame[][] = [];
    const l: BatchLink & { sent: Frame[][]; limit: number | undefined } = {
      sent,
      limit,
      batchLimit: () => l.limit,
      sendNow: (f, done) => {
        sent.push(f);
        done?.();
      },
      gone: () => new Error("gone") as never,
    };
    return l;
  }
  const msg = (i: number): Frame[] => [B("a.b"), B(i)];
  /** The messages a link received, batches and packed messages unpacked. */
  const messages = (sent: Frame[][]): string[][] =>
    sent.flatMap((f) => {
      const bufs = f.map((x) => Buffer.from(x));
      if (bufs[0]!.toString() !== "BATCH") return [str(unpacked(bufs))];
      return (unpackBatch(bufs) as Buffer[][]).map(str);
    });

  test("the first message of a turn goes out at once, packed; the rest at the turn's end, as one batch", async () => {
    const l = link();
    const c = new Coalescer(l);
    c.push(msg(0), undefined);
    expect(l.sent.length).toBe(1); // synchronously, as one frame
    expect(l.sent[0]!.length).toBe(1);
    expect(str(unpacked(l.sent[0]!))).toEqual(["a.b", "0"]);
    for (let i = 1; i < 6; i++) c.push(msg(i), undefined);
    expect(l.sent.length).toBe(1);
    await nextTurn();
    expect(l.sent.length).toBe(2);
    expect(str(l.sent[1]!.slice(0, 1))).toEqual(["BATCH"]);
    expect(messages(l.sent)).toEqual([0, 1, 2, 3, 4, 5].map((i) => ["a.b", String(i)]));
    // A new turn: its first message goes out at once again.
    c.push(msg(6), undefined);
    expect(l.sent.length).toBe(3);
  });

  test("a full batch goes out without waiting for the turn's end; order is kept", async () => {
    const l = link();
    const c = new Coalescer(l);
    const n = 1 + SEND_BATCH_MESSAGES * 2 + 3;
    for (let i = 0; i < n; i++) c.push(msg(i), undefined);
    expect(l.sent.length).toBe(3); // the first, then two full batches
    await nextTurn();
    expect(l.sent.length).toBe(4);
    expect(messages(l.sent)).toEqual(Array.from({ length: n }, (_, i) => ["a.b", String(i)]));
  });

  test("batches stay within the peer's limit; a message larger than it goes alone", async () => {
    const l = link(1000);
    const c = new Coalescer(l);
    c.push(msg(0), undefined);
    for (let i = 0; i < 5; i++) c.push([B("a.b"), Buffer.alloc(400, i)], undefined);
    c.push([B("a.b"), Buffer.alloc(5000)], undefined);
    await nextTurn();
    const batches = l.sent.filter((f) => str(f.slice(0, 1))[0] === "BATCH");
    expect(batches.length).toBeGreaterThan(1);
    for (const f of batches) expect(Buffer.from(f[1]!).length).toBeLessThanOrEqual(1000);
    expect(messages(l.sent).length).toBe(7);
    expect(messages(l.sent)[6]![1]!.length).toBe(5000);
  });

  test("a message left alone at the turn's end goes packed", async () => {
    const l = link();
    const c = new Coalescer(l);
    c.push(msg(0), undefined);
    c.push(msg(1), undefined);
    await nextTurn();
    expect(l.sent.map((f) => f.length)).toEqual([1, 1]);
    expect(messages(l.sent)).toEqual([0, 1].map((i) => ["a.b", String(i)]));
  });

  test("a handshake goes as it is, never packed or batched, and keeps its place", async () => {
    const l = link();
    const c = new Coalescer(l);
    c.push(["HELLO", BATCH_FEATURE, "-1"], undefined);
    c.push(msg(1), undefined);
    c.push(msg(2), undefined);
    c.push([B("HELLO")], undefined);
    c.push(msg(3), undefined);
    c.push(msg(4), undefined);
    await nextTurn();
    expect(str(l.sent[0]!)).toEqual(["HELLO", BATCH_FEATURE, "-1"]);
    expect(str(l.sent[1]!.slice(0, 1))).toEqual(["BATCH"]);
    expect(str(l.sent[2]!)).toEqual(["HELLO"]);
    expect(str(l.sent[3]!.slice(0, 1))).toEqual(["BATCH"]);
    expect(messages(l.sent)).toEqual([
      ["HELLO", BATCH_FEATURE, "-1"],
      ["a.b", "1"],
      ["a.b", "2"],
      ["HELLO"],
      ["a.b", "3"],
      ["a.b", "4"],
    ]);
  });

  test("a command the receiver would refuse in a batch travels alone, as it is; the others are still batched", async () => {
    for (const odd of ["", "BATCH", "\u0000x", B(""), B("BATCH"), Buffer.from([0, 1])]) {
      const l = link();
      const c = new Coalescer(l);
      c.push(msg(0), undefined);
      c.push(msg(1), undefined);
      c.push(msg(2), undefined);
      c.push([odd, B("?")], undefined);
      c.push(msg(3), undefined);
      c.push(msg(4), undefined);
      await nextTurn();
      expect(l.sent.length).toBe(4);
      expect(l.sent[2]!.map((f) => Buffer.from(f))).toEqual([Buffer.from(odd), B("?")]);
      for (const i of [1, 3]) expect(str(l.sent[i]!.slice(0, 1))).toEqual(["BATCH"]);
    }
  });

  test("a small buffer reused between sends in one turn: each message carries what it held when sent", async () => {
    const l = link();
    const c = new Coalescer(l);
    const scratch = Buffer.alloc(8);
    for (let i = 0; i < 5; i++) {
      scratch.writeUInt32BE(i);
      c.push([B("a.b"), scratch], undefined);
    }
    await nextTurn();
    const sent = messages(l.sent).map((m) => Buffer.from(m[1]!, "latin1").readUInt32BE(0));
    expect(sent).toEqual([0, 1, 2, 3, 4]);
  });

  test("a connection that does not take batches gets each message as it is (never packed), in order", async () => {
    const l = link(0);
    const c = new Coalescer(l);
    for (let i = 0; i < 10; i++) c.push(msg(i), undefined);
    await nextTurn();
    expect(l.sent.map(str)).toEqual(Array.from({ length: 10 }, (_, i) => ["a.b", String(i)]));
  });

  test("a message of more than 255 frames goes alone; a gone connection fails what waits", async () => {
    const l = link();
    const c = new Coalescer(l);
    c.push(msg(0), undefined);
    c.push(msg(1), undefined);
    c.push([B("a.b"), ...Array.from({ length: 300 }, () => B("x"))], undefined);
    c.push(msg(2), undefined);
    await nextTurn();
    // Each alone (packed as far as 128 bytes go), the long one's other frames after its packed first frame.
    expect(l.sent.length).toBe(4);
    expect(l.sent[2]!.length).toBeGreaterThan(255);
    expect(messages(l.sent).map((m) => m.length)).toEqual([2, 2, 301, 2]);
    const errors: unknown[] = [];
    c.push(msg(3), (e) => errors.push(e));
    c.push(msg(4), (e) => errors.push(e));
    l.limit = undefined;
    await nextTurn();
    expect(errors).toEqual([undefined, new Error("gone")]);
  });
});

// ---- on the network --------------------------------------------------------------------------------------------

type Server = Awaited<ReturnType<typeof makeOmq>>;
const sockets: Array<Dealer | Router> = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  await closeAll();
});

/** Reads messages until `n` commands arrived (batches unpacked) or the deadline; returns them and the raw messages. */
async function collect(
  s: Dealer | Router,
  n: number,
  route = false,
): Promise<{ raw: string[][]; commands: Buffer[][]; bodies: number[] }> {
  const raw: string[][] = [];
  const commands: Buffer[][] = [];
  const bodies: number[] = [];
  const deadline = Date.now() + 5000;
  while (commands.length < n && Date.now() < deadline) {
    const frames = (await s.receive()).slice(route ? 1 : 0);
    raw.push(str(frames));
    if (frames[0]!.toString() === "BATCH") {
      commands.push(...(unpackBatch(frames) as Buffer[][]));
      bodies.push(frames[1]!.length);
    } else commands.push(unpacked(frames));
  }
  return { raw, commands, bodies };
}

describe("negotiation and fallback (raw peers)", () => {
  /** A raw ROUTER standing in for a server: answers HI with `hello` frames. */
  async function fakeServer(
    hello: string[],
  ): Promise<{ router: Router; endpoint: string; keys: KeyPair; hi: string[] }> {
    const keys = await generateKeyPair();
    const router = new Router({
      linger: 0,
      receiveTimeout: 5000,
      curveServer: true,
      curvePublicKey: toZ85(keys.publicKey),
      curveSecretKey: toZ85(keys.secretKey),
    });
    sockets.push(router);
    await router.bind("tcp://127.0.0.1:0");
    const hi: string[] = [];
    void router.receive().then(async ([route, ...frames]) => {
      hi.push(...str(frames));
      await router.send([route!, ...hello]);
    });
    return { router, endpoint: router.lastEndpoint!, keys, hi };
  }

  test("a server that answers a plain HELLO (C++ OxenMQ) gets plain frames only, in order", async () => {
    const fake = await fakeServer(["HELLO"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    expect(fake.hi).toEqual(["HI", BATCH_FEATURE, "1048576"]); // the feature and our max message size
    for (let i = 0; i < 100; i++) client.send(conn, "a.b", [String(i)]);
    const { raw } = await collect(fake.router, 100, true);
    expect(raw).toEqual(Array.from({ length: 100 }, (_, i) => ["a.b", String(i)]));
  });

  test("a server that answers HELLO with the feature gets one turn's messages as batches, in order", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "-1"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    for (let i = 0; i < 100; i++) client.send(conn, "a.b", [String(i)]);
    const { raw, commands } = await collect(fake.router, 100, true);
    expect(commands.map(str)).toEqual(Array.from({ length: 100 }, (_, i) => ["a.b", String(i)]));
    expect(raw[0]!.length).toBe(1); // the first went out at once, packed in one frame
    expect(raw.length).toBeLessThan(100);
    expect(raw.filter((m) => m[0] === "BATCH").length).toBeGreaterThan(0);
  });

  test("the server's max message size bounds the batches the client sends it", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "300"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    for (let i = 0; i < 100; i++) client.send(conn, "a.b", [String(i).padStart(20, "x")]);
    const { commands, bodies } = await collect(fake.router, 100, true);
    expect(commands.map(str)).toEqual(Array.from({ length: 100 }, (_, i) => ["a.b", String(i).padStart(20, "x")]));
    expect(bodies.length).toBeGreaterThan(5);
    for (const size of bodies) expect(size).toBeLessThanOrEqual(300);
  });

  test("a HELLO whose feature has no valid size leaves the connection plain", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "lots"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    for (let i = 0; i < 30; i++) client.send(conn, "a.b", [String(i)]);
    const { raw } = await collect(fake.router, 30, true);
    expect(raw.length).toBe(30);
  });

  test("a server that answers a batch with UNKNOWNCOMMAND gets no more batches on that connection", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "-1"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    for (let i = 0; i < 10; i++) client.send(conn, "a.b", [String(i)]);
    const first = await collect(fake.router, 10, true);
    expect(first.bodies.length).toBeGreaterThan(0);
    const route = await new Promise<Buffer>((resolve) => {
      // The route of our client, from a message we make it send.
      client.send(conn, "a.route");
      void fake.router.receive().then((f) => resolve(f[0]!));
    });
    await fake.router.send([route, "UNKNOWNCOMMAND", "BATCH"]);
    await waitFor(() => client.logs.some((l) => /coalescing is off/.test(l.message)), "the client to stop batching");
    for (let i = 0; i < 10; i++) client.send(conn, "a.b", [String(i)]);
    const { raw } = await collect(fake.router, 10, true);
    expect(raw).toEqual(Array.from({ length: 10 }, (_, i) => ["a.b", String(i)]));
  });

  test("a server that answers a packed message with UNKNOWNCOMMAND (as C++ OxenMQ would) gets plain frames after", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "-1"]);
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    client.send(conn, "a.b", ["first"]);
    const [route, first, ...rest] = await fake.router.receive();
    expect(rest).toEqual([]);
    expect(str(unpacked([first!]))).toEqual(["a.b", "first"]);
    await fake.router.send([route!, "UNKNOWNCOMMAND", first!]); // C++ echoes the command frame it did not know
    await waitFor(() => client.logs.some((l) => /coalescing is off/.test(l.message)), "the client to stop packing");
    for (let i = 0; i < 10; i++) client.send(conn, "a.b", [String(i)]);
    const { raw } = await collect(fake.router, 10, true);
    expect(raw).toEqual(Array.from({ length: 10 }, (_, i) => ["a.b", String(i)]));
  });

  test("with coalesce: false, the client offers nothing", async () => {
    const fake = await fakeServer(["HELLO", BATCH_FEATURE, "-1"]);
    const client = await makeOmq({ coalesce: false });
    await client.start();
    const conn = await client.connectRemote(new Address(fake.endpoint, fake.keys.publicKey));
    expect(fake.hi).toEqual(["HI"]);
    for (let i = 0; i < 20; i++) client.send(conn, "a.b", [String(i)]);
    const { raw } = await collect(fake.router, 20, true);
    expect(raw.length).toBe(20);
  });
});

describe("our server (raw clients)", () => {
  let server: Server;
  let endpoint: string;
  const counted: string[] = [];
  const levels = new Map<string, "basic" | "admin">();

  const who = (m: Message): void => m.reply(m.pubkey.length ? toHex(m.pubkey) : "anonymous", m.access.auth);
  beforeAll(async () => {
    server = await makeOmq({ logLevel: "info" });
    server
      .addCategory("pub", "none")
      .addRequestCommand("echo", (m) => m.reply(...m.data))
      .addRequestCommand("whoami", who)
      .addCommand("count", (m) => void counted.push(m.data[0]!.toString()));
    server.addCategory("adm", "admin").addRequestCommand("whoami", who);
    const ep = server.listenCurve("tcp://127.0.0.1:0", {
      allow: (_addr, pk) => levels.get(toHex(pk)) ?? "none",
    });
    await server.start();
    endpoint = await ep;
  });

  async function client(hi: Array<string | Buffer>, level?: "basic" | "admin"): Promise<{ d: Dealer; keys: KeyPair }> {
    const keys = await generateKeyPair();
    if (level) levels.set(toHex(keys.publicKey), level);
    const d = rawDealer(endpoint, { serverKey: server.publicKey, keys, receiveTimeout: 5000 });
    sockets.push(d);
    await d.send(hi);
    return { d, keys };
  }

  /** A request's reply tag. */
  const tag = (i: number): Buffer => Buffer.from(`tag-${String(i).padStart(6, "0")}`);

  test("a client that sends a plain HI (C++ OxenMQ) gets a plain HELLO and plain replies only", async () => {
    const { d } = await client(["HI"]);
    expect(str(await d.receive())).toEqual(["HELLO"]);
    for (let i = 0; i < 200; i++) await d.send(["pub.echo", tag(i), String(i)]);
    const { raw } = await collect(d, 200);
    expect(raw).toEqual(Array.from({ length: 200 }, (_, i) => ["REPLY", tag(i).toString(), String(i)]));
  });

  test("a client that offers the feature gets it, and its batch's replies come back batched, in order", async () => {
    const { d } = await client(["HI", BATCH_FEATURE, "-1"]);
    expect(str(await d.receive())).toEqual(["HELLO", BATCH_FEATURE, "1048576"]);
    await d.send(packBatch(Array.from({ length: 50 }, (_, i) => [B("pub.echo"), tag(i), B(i)])));
    const { raw, commands } = await collect(d, 50);
    expect(commands.map(str)).toEqual(Array.from({ length: 50 }, (_, i) => ["REPLY", tag(i).toString(), String(i)]));
    expect(raw.filter((m) => m[0] === "BATCH").length).toBeGreaterThan(0);
  });

  test("clients that connect at once all get a plain HELLO, whatever the handshake gate holds (many rounds)", async () => {
    for (let round = 0; round < 10; round++) {
      const clients = await Promise.all(Array.from({ length: 8 }, () => client(["HI", BATCH_FEATURE, "-1"])));
      for (const { d } of clients) expect(str(await d.receive())).toEqual(["HELLO", BATCH_FEATURE, "1048576"]);
      for (const { d } of clients) d.close();
    }
  });

  test("a later plain HI withdraws the offer: replies go plain again", async () => {
    const { d } = await client(["HI", BATCH_FEATURE, "-1"]);
    expect(str(await d.receive())).toEqual(["HELLO", BATCH_FEATURE, "1048576"]);
    await d.send(["pub.echo", tag(1), "x"]);
    expect((await d.receive()).length).toBe(1); // packed
    await d.send(["HI"]);
    expect(str(await d.receive())).toEqual(["HELLO"]);
    await d.send(["pub.echo", tag(2), "x"]);
    expect(str(await d.receive())).toEqual(["REPLY", tag(2).toString(), "x"]);
  });

  test("a request sent packed is answered packed (in one frame when small) to a client that offered the feature", async () => {
    const { d } = await client(["HI", BATCH_FEATURE, "-1"]);
    await d.receive(); // HELLO
    await d.send(packLeading([B("pub.echo"), tag(1), B("small")], 1 << 20));
    const small = await d.receive();
    expect(small.length).toBe(1);
    expect(str(unpacked(small))).toEqual(["REPLY", tag(1).toString(), "small"]);
    const big = randomBytes(5000);
    await d.send(packLeading([B("pub.echo"), tag(2), big], 1 << 20));
    const reply = await d.receive();
    expect(reply.length).toBe(2); // [REPLY, tag] packed, then the payload as it is
    expect(unpacked(reply)).toEqual([B("REPLY"), tag(2), big]);
    // The request form of an error word goes packed too.
    await d.send(packLeading([B("adm.whoami"), tag(3)], 1 << 20));
    expect(str(unpacked(await d.receive()))).toEqual(["FORBIDDEN", "REPLY", tag(3).toString()]);
  });

  test("a server with coalesce: false answers a plain HELLO", async () => {
    const other = await makeOmq({ coalesce: false });
    const ep = other.listenCurve("tcp://127.0.0.1:0");
    await other.start();
    const d = rawDealer(await ep, { serverKey: other.publicKey, keys: await generateKeyPair() });
    sockets.push(d);
    await d.send(["HI", BATCH_FEATURE, "-1"]);
    expect(str(await d.receive())).toEqual(["HELLO"]);
    // And a batch is an unknown command to it, as to C++ OxenMQ.
    await d.send(packBatch([[B("a.b")], [B("c.d")]]));
    expect(str(await d.receive())).toEqual(["UNKNOWNCOMMAND", "BATCH"]);
    // A packed message too: its first frame comes back as the unknown command.
    const packed = packLeading([B("pub.echo"), tag(1), B("x")], 1 << 20);
    await d.send(packed);
    expect(await d.receive()).toEqual([B("UNKNOWNCOMMAND"), packed[0]]);
  });

  test("every message of a batch, and a packed message, has the identity of its connection, and no more access", async () => {
    const basic = await client(["HI", BATCH_FEATURE, "-1"], "basic");
    const none = await client(["HI", BATCH_FEATURE, "-1"]);
    for (const c of [basic, none]) await c.d.receive(); // HELLO
    const batch = [
      [B("pub.whoami"), tag(1)],
      [B("adm.whoami"), tag(2)],
      [B("pub.whoami"), tag(3)],
    ];
    for (const c of [basic, none]) {
      await c.d.send(packBatch(batch));
      // And alone, packed.
      await c.d.send(packLeading([B("adm.whoami"), tag(4)], 1 << 20));
      await c.d.send(packLeading([B("pub.whoami"), tag(5)], 1 << 20));
    }
    for (const [c, level] of [
      [basic, "basic"],
      [none, "none"],
    ] as const) {
      const { commands } = await collect(c.d, 5);
      const hex = toHex(c.keys.publicKey);
      expect(commands.map(str)).toEqual([
        ["REPLY", tag(1).toString(), hex, level],
        ["FORBIDDEN", "REPLY", tag(2).toString()],
        ["REPLY", tag(3).toString(), hex, level],
        ["FORBIDDEN", "REPLY", tag(4).toString()],
        ["REPLY", tag(5).toString(), hex, level],
      ]);
    }
  });

  test("a batch or a packed message is accepted from a client that did not negotiate (a reconnect starts without HI)", async () => {
    const { d } = await client(["pub.echo", tag(0), "first"]);
    expect(str(await d.receive())).toEqual(["REPLY", tag(0).toString(), "first"]);
    await d.send(
      packBatch([
        [B("pub.echo"), tag(1), B("a")],
        [B("pub.echo"), tag(2), B("b")],
      ]),
    );
    await d.send(packLeading([B("pub.echo"), tag(3), B("c")], 1 << 20));
    const { raw } = await collect(d, 3);
    expect(raw).toEqual([
      ["REPLY", tag(1).toString(), "a"],
      ["REPLY", tag(2).toString(), "b"],
      ["REPLY", tag(3).toString(), "c"],
    ]); // and the replies to a connection that did not ask for batches are plain
  });

  /** Ways to make a batch of `pub.count` messages malformed, each leaving its other messages well-formed. */
  const breakers: Array<(ids: string[], k: number) => Buffer[]> = [
    (ids) => [B("BATCH"), Buffer.concat([Buffer.from([0]), counts(ids)])],
    (ids, k) => [B("BATCH"), counts(ids).subarray(0, -1 - (k % 4))],
    (ids) => [B("BATCH"), counts(ids), B("extra")],
    (ids, k) => [B("BATCH"), counts(ids, k, ["BATCH", "x"])],
    (ids, k) => [B("BATCH"), counts(ids, k, ["", "x"])],
    (ids, k) => [B("BATCH"), Buffer.concat([counts(ids), Buffer.from([1 + (k % 3), 0, 0])])],
    () => [B("BATCH")],
    () => [B("BATCH"), Buffer.alloc(0)],
  ];
  /** The body of `pub.count` messages for `ids`, message `k` replaced by `instead` if given. */
  const counts = (ids: string[], k = -1, instead?: string[]): Buffer =>
    body(...ids.map((id, i) => (i === k && instead ? instead : ["pub.count", id])));

  test("malformed batches are dropped whole with a log line, and the connection goes on (many rounds)", async () => {
    const { d } = await client(["HI", BATCH_FEATURE, "-1"]);
    await d.receive();
    let t = 0;
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(Math.random() * 12);
      const ids = Array.from({ length: n }, (_, i) => `${round}:${i}`);
      const malformed = Math.random() < 0.5;
      const batch = malformed
        ? breakers[round % breakers.length]!(ids, Math.floor(Math.random() * n))
        : (packBatch(ids.map((id) => [B("pub.count"), B(id)])) as Buffer[]);
      counted.length = 0;
      await d.send(batch);
      // A request after it, on the same connection: served in order, so the batch has been handled by its reply.
      await d.send(["pub.echo", tag(++t), "sync"]);
      const reply = await d.receive();
      if (str(reply)[0] === "BATCH") throw new Error(`unexpected batch reply ${str(reply).join(",")}`);
      expect(str(unpacked(reply))).toEqual(["REPLY", tag(t).toString(), "sync"]); // alone: packed
      expect(counted).toEqual(malformed ? [] : ids);
    }
    expect(server.logs.filter((l) => l.level === "warn" && /malformed batch/.test(l.message)).length).toBeGreaterThan(
      100,
    );
  });
});

/** Ways to make a packed `pub.count` message malformed. */
const packedBreakers: Array<(id: string, k: number) => Buffer[]> = [
  (id) => [Buffer.concat([Buffer.from([0, 0]), B(id)])], // no parts
  () => [Buffer.from([0])], // no part count
  (id, k) => [(packLeading([B("pub.count"), B(id)], 1 << 20)[0] as Buffer).subarray(0, -1 - (k % 4))], // cut short
  (id) => [Buffer.concat([packLeading([B("pub.count"), B(id)], 1 << 20)[0] as Buffer, Buffer.from([7])])], // bytes after
  (id) => packLeading([B(""), B(id)], 1 << 20) as Buffer[], // an empty command
  (id) => packLeading([Buffer.from([0, 1, 0, 0, 0, 1, 0x61]), B(id)], 1 << 20) as Buffer[], // packed twice
  (id) => packLeading([B("BATCH"), B(id)], 1 << 20) as Buffer[], // a batch inside
  (id) => packLeading([B("HI"), B(id)], 1 << 20) as Buffer[], // a handshake
];

test("malformed packed messages are dropped with a log line, and the connection goes on (many rounds)", async () => {
  const counted: string[] = [];
  const server = await makeOmq({ logLevel: "info" });
  server
    .addCategory("pub", "none")
    .addCommand("count", (m) => void counted.push(m.data[0]!.toString()))
    .addRequestCommand("echo", (m) => m.reply(...m.data));
  const ep = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  const d = rawDealer(await ep, { serverKey: server.publicKey, keys: await generateKeyPair(), receiveTimeout: 5000 });
  sockets.push(d);
  await d.send(["HI", BATCH_FEATURE, "-1"]);
  await d.receive();
  const sync = Buffer.from("sync-tag");
  for (let round = 0; round < 400; round++) {
    const id = `n${round}`;
    const malformed = Math.random() < 0.5;
    counted.length = 0;
    await d.send(
      malformed
        ? packedBreakers[round % packedBreakers.length]!(id, round)
        : packLeading([B("pub.count"), B(id)], 1 << 20),
    );
    // A request after it, on the same connection: served in order, so the message has been handled by its reply.
    await d.send(["pub.echo", sync, String(round)]);
    expect(str(unpacked(await d.receive()))).toEqual(["REPLY", "sync-tag", String(round)]);
    expect(counted).toEqual(malformed ? [] : [id]);
  }
  expect(
    server.logs.filter((l) => l.level === "warn" && /malformed packed message/.test(l.message)).length,
  ).toBeGreaterThan(100);
});

describe("between two of our nodes", () => {
  test("one request at a time, of every size around the packing limit, round trips exactly", async () => {
    const server = await makeOmq();
    server.addCategory("pub", "none").addRequestCommand("echo", (m) => m.reply(...m.data));
    const ep = server.listenCurve("tcp://127.0.0.1:0");
    await server.start();
    const client = await makeOmq();
    await client.start();
    const conn = await client.connectRemote(new Address(await ep, server.publicKey));
    const sizes = [...Array.from({ length: 140 }, (_, i) => i), 200, 1000, 70_000];
    for (const size of sizes)
      for (const parts of [1, 2, 3]) {
        const data = Array.from({ length: parts }, (_, p) => randomBytes(p === parts - 1 ? size : size >> 2));
        expect(await client.request(conn, "pub.echo", data)).toEqual(data);
      }
    expect(await client.request(conn, "pub.echo")).toEqual([]);
  });

  test("commands and requests in one turn arrive in order, each with its connection's identity", async () => {
    const seen: string[] = [];
    const server = await makeOmq({ logLevel: "info" });
    const levels = new Map<string, "basic" | "admin">();
    server
      .addCategory("pub", "none")
      .addCommand("note", (m) => void seen.push(`${toHex(m.pubkey)}:${m.data[0]!.toString()}`))
      .addRequestCommand("whoami", (m) => m.reply(toHex(m.pubkey), m.access.auth, ...m.data));
    const ep = server.listenCurve("tcp://127.0.0.1:0", { allow: (_a, pk) => levels.get(toHex(pk)) ?? "none" });
    await server.start();
    const endpoint = await ep;
    const clients = await Promise.all(
      (["basic", "admin"] as const).map(async (level) => {
        const c = await makeOmq();
        levels.set(toHex(c.publicKey), level);
        await c.start();
        return { c, level, conn: await c.connectRemote(new Address(endpoint, server.publicKey)) };
      }),
    );
    const N = 500;
    const replies = clients.map(({ c, conn }) => {
      for (let i = 0; i < N; i++) c.send(conn, "pub.note", [String(i)]);
      return Promise.all(Array.from({ length: N }, (_, i) => c.request(conn, "pub.whoami", [String(i)])));
    });
    const answered = await Promise.all(replies);
    clients.forEach(({ c, level }, k) => {
      const hex = toHex(c.publicKey);
      expect(answered[k]!.map((r) => r.map(String))).toEqual(
        Array.from({ length: N }, (_, i) => [hex, level, String(i)]),
      );
      expect(seen.filter((s) => s.startsWith(hex))).toEqual(Array.from({ length: N }, (_, i) => `${hex}:${i}`));
    });
    await waitFor(() => seen.length === 2 * N, "every command");
  });
});

test("replies given just before the server's sockets close still go out (close flushes what waits for the turn's end)", async () => {
  const server = await makeOmq({ logLevel: "warn" });
  const owed: Array<() => void> = [];
  server.addCategory("t", "none").addRequestCommand("later", (m) => {
    const d = m.later();
    owed.push(() => d.reply("done", ...m.data));
  });
  const ep = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  const client = await makeOmq({ logLevel: "warn" });
  await client.start();
  const conn = await client.connectRemote(new Address(await ep, server.publicKey));
  const N = 50;
  const replies = Array.from({ length: N }, (_, i) => client.request(conn, "t.later", [String(i)], { timeout: 5000 }));
  await waitFor(() => owed.length === N, "every request to arrive");
  const closing = server.close({ timeout: 5000 });
  // All replies in one turn; the close that waited for them then closes the sockets.
  setTimeout(() => owed.forEach((reply) => reply()), 10);
  const got = await Promise.all(replies);
  expect(got.map((r) => r.map(String))).toEqual(Array.from({ length: N }, (_, i) => ["done", String(i)]));
  await closing;
});

describe("our client's sends", () => {
  for (const coalesce of [true, false])
    test(`a buffer reused between sends in one turn: each message carries what it held (coalesce: ${coalesce})`, async () => {
      const seen: number[] = [];
      const server = await makeOmq({ logLevel: "warn", coalesce });
      server.addCategory("pub", "none").addCommand("note", (m) => void seen.push(m.data[0]!.readUInt32BE(0)));
      const ep = server.listenCurve("tcp://127.0.0.1:0");
      await server.start();
      const client = await makeOmq({ logLevel: "warn", coalesce });
      await client.start();
      const conn = await client.connectRemote(new Address(await ep, server.publicKey));
      const scratch = Buffer.alloc(8);
      for (let i = 0; i < 40; i++) {
        scratch.writeUInt32BE(i, 0);
        client.send(conn, "pub.note", [scratch]);
      }
      await waitFor(() => seen.length === 40, "40 notes");
      expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    });

  for (const odd of ["", "BATCH", "\u0000x"])
    test(`one odd command (${JSON.stringify(odd)}) among others in a turn loses only itself`, async () => {
      const seen: string[] = [];
      const server = await makeOmq({ logLevel: "warn" });
      server
        .addCategory("x", "none")
        .addCommand("n", (m) => void seen.push(m.data[0]!.toString()))
        .addRequestCommand("sync", (m) => m.reply());
      const ep = server.listenCurve("tcp://127.0.0.1:0");
      await server.start();
      const client = await makeOmq({ logLevel: "warn" });
      await client.start();
      const conn = await client.connectRemote(new Address(await ep, server.publicKey));
      for (let i = 0; i < 10; i++) client.send(conn, "x.n", [String(i)]);
      client.send(conn, odd, ["?"]);
      for (let i = 10; i < 20; i++) client.send(conn, "x.n", [String(i)]);
      await client.request(conn, "x.sync"); // after all of them on the same connection
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    });

  test("a HELLO read after the connection was reported lost does not turn batching on", () => {
    const socket = new Dealer({ linger: 0, sendTimeout: 0 });
    try {
      const o = new Outgoing(
        7,
        socket,
        new Uint8Array(),
        "none",
        false,
        "tcp://127.0.0.1:1",
        new Log(undefined),
        Infinity,
      );
      o.sayHi(["HI", BATCH_FEATURE, "-1"]);
      o.disconnected(); // libzmq's event, read before the HELLO of the server that is gone
      o.helloOffer(1000);
      expect(o.peerBatchBytes).toBe(0);
      o.sayHi(["HI", BATCH_FEATURE, "-1"]); // a fresh HI on the connection as it is now
      o.helloOffer(1000);
      expect(o.peerBatchBytes).toBe(1000);
      o.disconnected();
      expect(o.peerBatchBytes).toBe(0);
    } finally {
      socket.close();
    }
  });
});
