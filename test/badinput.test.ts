import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { Address, type ConnectionID } from "../runtime/index.js";
import { closeAll, makeOmq, text } from "./helpers/omq.js";
import { rawDealer } from "./helpers/raw.js";

// Malformed sequences from a raw client: the server never crashes and keeps serving a well-behaved client.
let server: Awaited<ReturnType<typeof makeOmq>>;
let good: Awaited<ReturnType<typeof makeOmq>>;
let conn: ConnectionID;
let plainEp: string;
let curveEp: string;

beforeAll(async () => {
  server = await makeOmq({ maxMessageSize: 4096 });
  server
    .addCategory("pub", "none")
    .addRequestCommand("echo", (m) => m.reply(...m.data))
    .addCommand("boom", () => {
      throw new Error("handler failure");
    })
    .addRequestCommand("reject", () => Promise.reject(new Error("async failure")));
  const p = server.listenPlain("tcp://127.0.0.1:0");
  const c = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  [plainEp, curveEp] = [await p, await c];
  good = await makeOmq();
  await good.start();
  conn = await good.connectRemote(new Address(curveEp, server.publicKey));
});
afterAll(closeAll);

const stillServing = async (): Promise<void> => {
  expect(text(await good.request(conn, "pub.echo", ["alive"]))).toEqual(["alive"]);
};

test.each([
  ["an empty frame", [[""]]],
  ["binary garbage as a command", [[Buffer.from([0xff, 0x00, 0xfe, 0x2e, 0x80])]]],
  ["a 300-character command", [["a.".padEnd(300, "x")]]],
  ["builtins in the wrong direction", [["HELLO"], ["BYE"], ["REPLY"], ["REPLY", "no-such-tag", "x"]]],
  [
    "error words sent to a server",
    [["FORBIDDEN"], ["UNKNOWNCOMMAND", "x.y"], ["NO_REPLY_TAG", "REPLY", "t"], ["FORBIDDEN", "a", "b", "c"]],
  ],
  ["a request without a tag, and commands that throw", [["pub.echo"], ["pub.boom"], ["pub.reject", "t"]]],
  ["a frame over the size limit", [["pub.echo", "t", Buffer.alloc(10_000)]]],
])("%s", async (_name, messages) => {
  for (const ep of [plainEp, curveEp]) {
    const d = rawDealer(
      ep,
      ep === curveEp
        ? { serverKey: server.publicKey, keys: { publicKey: good.publicKey, secretKey: good.secretKey } }
        : {},
    );
    for (const m of messages) await d.send(m);
    await d.send(["pub.echo", "tag", "after"]);
    if (!(messages[0]![2] instanceof Buffer)) {
      // Every bad message is dropped or answered; the raw client is then still served.
      let reply: string[] = [];
      do reply = (await d.receive()).map(String);
      while (reply[0] !== "REPLY");
      expect(reply).toEqual(["REPLY", "tag", "after"]);
    }
    d.close();
    await stillServing();
  }
});

test("handler exceptions are logged, not fatal", async () => {
  expect(server.logs.some((l) => l.level === "warn" && l.message.includes("handler failure"))).toBe(true);
});
