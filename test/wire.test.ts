import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type { Dealer } from "zeromq";
import type { OxenMQ } from "../runtime/index.js";
import { closeAll, makeOmq } from "./helpers/omq.js";
import { rawDealer, roundTrip } from "./helpers/raw.js";

// The exact frames of docs/protocol.md#frames, as a raw DEALER sees them (mirrors C++ tests/test_failures.cpp).
let server: OxenMQ;
let d: Dealer;

beforeAll(async () => {
  server = await makeOmq();
  server
    .addCategory("x", "basic")
    .addCommand("x", () => {})
    .addRequestCommand("r", (m) => m.reply("ok"));
  server.addCategory("pub", "none").addRequestCommand("echo", (m) => m.reply(...m.data));
  server.addCategory("lsn", { auth: "none", localSN: true }).addRequestCommand("r", (m) => m.reply("no"));
  server.addCategory("rsn", { auth: "none", remoteSN: true }).addRequestCommand("r", (m) => m.reply("no"));
  server.addCommandAlias("old", "x.x");
  server.addCommandAlias("oldecho", "pub.echo");
  const ep = server.listenPlain("tcp://127.0.0.1:0", { level: "none" });
  await server.start();
  d = rawDealer(await ep);
});
afterAll(async () => {
  d.close();
  await closeAll();
});

test("HI gets HELLO", async () => {
  expect(await roundTrip(d, ["HI"])).toEqual(["HELLO"]);
});

test("a request gets [REPLY][tag][data...], through an alias too", async () => {
  expect(await roundTrip(d, ["pub.echo", "tag1", "a", Buffer.from([0, 1, 2])])).toEqual([
    "REPLY",
    "tag1",
    "a",
    "\x00\x01\x02",
  ]);
  expect(await roundTrip(d, ["oldecho", "tag2", "b"])).toEqual(["REPLY", "tag2", "b"]);
});

test.each([
  [["a.a"], ["UNKNOWNCOMMAND", "a.a"]],
  [
    ["a.a", "tagged"],
    ["UNKNOWNCOMMAND", "a.a"],
  ],
  [["x.x"], ["FORBIDDEN", "x.x"]],
  [
    ["x.r", "xyz123"],
    ["FORBIDDEN", "REPLY", "xyz123"],
  ],
  [["old"], ["FORBIDDEN", "old"]],
  [
    ["lsn.r", "xyz123"],
    ["NOT_A_SERVICE_NODE", "REPLY", "xyz123"],
  ],
  [["lsn.r"], ["NOT_A_SERVICE_NODE", "lsn.r"]],
  [
    ["rsn.r", "xyz123"],
    ["FORBIDDEN_SN", "REPLY", "xyz123"],
  ],
  [["pub.echo"], ["NO_REPLY_TAG", "pub.echo"]],
])("%j is rejected with %j", async (sent, expected) => {
  expect(await roundTrip(d, sent)).toEqual(expected);
});
