import { afterEach, expect, test } from "@jest/globals";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Address, type AuthLevel } from "../runtime/index.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";

afterEach(closeAll);

async function serverWith(level: AuthLevel = "none") {
  const server = await makeOmq();
  const who = (m: { access: { auth: string }; remote: string; reply: (...d: string[]) => void }) =>
    m.reply(m.access.auth);
  server.addCategory("pub", "none").addRequestCommand("who", who);
  server.addCategory("adm", "admin").addRequestCommand("who", who);
  return { server, level };
}

test("plain tcp: the listener's level applies to every message", async () => {
  const { server } = await serverWith();
  const none = server.listenPlain("tcp://127.0.0.1:0");
  const admin = server.listenPlain("tcp://127.0.0.1:0", { level: "admin" });
  await server.start();
  const client = await makeOmq();
  await client.start();
  const c1 = await client.connectRemote(await none);
  const c2 = await client.connectRemote(await admin);
  expect(text(await client.request(c1, "pub.who"))).toEqual(["none"]);
  await expect(client.request(c1, "adm.who")).rejects.toMatchObject({ code: "FORBIDDEN" });
  expect(text(await client.request(c2, "adm.who"))).toEqual(["admin"]);
});

test("ipc, plain and curve", async () => {
  const { server } = await serverWith();
  const dir = mkdtempSync(join(tmpdir(), "omq-"));
  const plain = server.listenPlain(`ipc://${dir}/plain.sock`);
  const curve = server.listenCurve(`ipc://${dir}/curve.sock`, { allow: () => "admin" });
  await server.start();
  const client = await makeOmq();
  await client.start();
  const c1 = await client.connectRemote(await plain);
  const c2 = await client.connectRemote(new Address(await curve, server.publicKey));
  expect(c2.pubkey).toEqual(server.publicKey);
  expect(text(await client.request(c1, "pub.who"))).toEqual(["none"]);
  expect(text(await client.request(c2, "adm.who"))).toEqual(["admin"]);
  expect(new Address(`ipc+curve://${dir}/curve.sock/${Buffer.from(server.publicKey).toString("hex")}`).zmqAddress).toBe(
    await curve,
  );
});

test("inproc to self is admin", async () => {
  const { server } = await serverWith();
  await server.start();
  const self = await server.connectInproc();
  expect(text(await server.request(self, "adm.who"))).toEqual(["admin"]);
});

test("a denied handshake never connects (plain deny is exact; curve too)", async () => {
  const { server } = await serverWith();
  const plain = server.listenPlain("tcp://127.0.0.1:0", { allow: () => "denied" });
  const curve = server.listenCurve("tcp://127.0.0.1:0", { allow: () => "denied" });
  await server.start();
  const client = await makeOmq();
  await client.start();
  await expect(client.connectRemote(await plain, { timeout: 5000 })).rejects.toMatchObject({ code: "ACCESS_DENIED" });
  await expect(
    client.connectRemote(new Address(await curve, server.publicKey), { timeout: 5000 }),
  ).rejects.toMatchObject({ code: "ACCESS_DENIED" });
  await waitFor(() => server.logs.some((l) => l.message.includes("Access denied")), "deny logged");
});

test("a wrong server key never connects", async () => {
  const { server } = await serverWith();
  const curve = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  const client = await makeOmq();
  await client.start();
  await expect(
    client.connectRemote(new Address(await curve, client.publicKey), { timeout: 5000 }),
  ).rejects.toMatchObject({
    code: "AUTH_FAILED",
  });
});

test("bind failures: before start, start() rejects; after start, the listen promise rejects", async () => {
  const { server } = await serverWith();
  const taken = server.listenPlain("tcp://127.0.0.1:0");
  await server.start();
  const ep = await taken;
  await expect(server.listenPlain(ep)).rejects.toMatchObject({ code: "BIND_FAILED" });
  const other = await makeOmq();
  void other.listenCurve(ep);
  await expect(other.start()).rejects.toMatchObject({ code: "BIND_FAILED" });
});
