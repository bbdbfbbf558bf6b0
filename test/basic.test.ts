import { afterEach, expect, test } from "@jest/globals";
import { Address, OmqError } from "../runtime/index.js";
import { closeAll, makeOmq, text } from "./helpers/omq.js";

afterEach(closeAll);

test("request over CURVE gets the reply, with the caller's proven key and level", async () => {
  const server = await makeOmq();
  let seen: { pk: string; auth: string } | undefined;
  server
    .addCategory("public", "none")
    .addRequestCommand("hello", (m) => {
      seen = { pk: Buffer.from(m.pubkey).toString("hex"), auth: m.access.auth };
      m.reply("hi", ...m.data);
    })
    .addRequestCommand("silent", () => {});
  const ep = server.listenCurve("tcp://127.0.0.1:0", { allow: () => "basic" });
  await server.start();
  const client = await makeOmq();
  await client.start();
  const addr = new Address(await ep, server.publicKey);
  const conn = await client.connectRemote(addr);
  expect(Buffer.from(conn.pubkey)).toEqual(Buffer.from(server.publicKey));
  expect(text(await client.request(conn, "public.hello", ["x"]))).toEqual(["hi", "x"]);
  expect(seen).toEqual({ pk: Buffer.from(client.publicKey).toString("hex"), auth: "basic" });
  await expect(client.request(conn, "public.nope")).rejects.toMatchObject({ code: "UNKNOWNCOMMAND" });
  await expect(client.request(conn, "public.silent", [], { timeout: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
  await expect(client.request(conn, "public.silent", [], { timeout: 50 })).rejects.toBeInstanceOf(OmqError);
});
