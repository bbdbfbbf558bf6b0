import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { createServer } from "node:net";
import { Address, generateKeyPair, type OmqError } from "../runtime/index.js";
import { closeAll, makeOmq } from "./helpers/omq.js";

// A connect that cannot succeed fails as soon as libzmq's events say why, with a code for each reason, instead of
// waiting out the 10 s CONNECT_TIMEOUT.

let server: Awaited<ReturnType<typeof makeOmq>>;
let client: Awaited<ReturnType<typeof makeOmq>>;
let curve: string;
let plain: string;
let denied: string;

beforeAll(async () => {
  server = await makeOmq();
  server.addCategory("p", "none").addRequestCommand("x", (m) => m.reply("ok"));
  const c = server.listenCurve("tcp://127.0.0.1:0");
  const p = server.listenPlain("tcp://127.0.0.1:0");
  const d = server.listenCurve("tcp://127.0.0.1:0", { allow: () => "denied" });
  await server.start();
  [curve, plain, denied] = [await c, await p, await d];
  client = await makeOmq();
  await client.start();
});
afterAll(closeAll);

/** A port nothing listens on (the OS gave it out a moment ago). */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function failure(address: string | Address): Promise<{ code: string; message: string; ms: number }> {
  const t0 = Date.now();
  const err = (await client.connectRemote(address).then(
    () => {
      throw new Error("connected");
    },
    (e: unknown) => e,
  )) as OmqError;
  return { code: err.code, message: err.message, ms: Date.now() - t0 };
}

test.each([
  [
    "the wrong server key",
    () => new Address(curve, new Uint8Array(32).fill(7)),
    "AUTH_FAILED",
    /public key is probably not 0707/,
  ],
  ["CURVE to a plain listener", () => new Address(plain, server.publicKey), "PROTOCOL_MISMATCH", /does not use CURVE/],
  ["plain to a CURVE listener", () => curve, "PROTOCOL_MISMATCH", /requires CURVE/],
  [
    "a listener whose allow() says no",
    () => new Address(denied, server.publicKey),
    "ACCESS_DENIED",
    /allow\(\) said no/,
  ],
])("connecting with %s fails at once with its own code", async (_what, address, code, message) => {
  const f = await failure(address());
  expect(f.code).toBe(code);
  expect(f.message).toMatch(message);
  expect(f.ms).toBeLessThan(3000); // not the 10 s timeout
});

test("connecting to a port nothing listens on fails at once with CONNECT_REFUSED", async () => {
  const f = await failure(`tcp://127.0.0.1:${await closedPort()}`);
  expect(f).toMatchObject({ code: "CONNECT_REFUSED" });
  expect(f.ms).toBeLessThan(1000);
  const k = await generateKeyPair();
  expect(await failure(new Address(`tcp://127.0.0.1:${await closedPort()}`, k.publicKey))).toMatchObject({
    code: "CONNECT_REFUSED",
  });
});

test("the client stays usable after failed connects", async () => {
  const conn = await client.connectRemote(new Address(curve, server.publicKey));
  expect((await client.request(conn, "p.x")).map(String)).toEqual(["ok"]);
});
