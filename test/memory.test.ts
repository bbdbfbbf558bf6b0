import { describe, expect, test } from "@jest/globals";
import { DeferredSend, RpcError, type Message } from "../runtime/index.js";
import { InMemoryTransport } from "../runtime/testing.js";
import { registerRpc, RpcClient, type RpcHandlers } from "../generated/node.js";
import { text, waitFor } from "./helpers/omq.js";

// What the in-memory transport adds to the typed round trips of typed.test.ts (which run on it too): its own
// connections, faults and shutdown, with the ZeroMQ transport's semantics.

const info: RpcHandlers["info"] = () => ({ version: "1", network: "devnet", height: 1, serviceNode: false });

async function started(handlers: Partial<RpcHandlers> = {}): Promise<InMemoryTransport> {
  const t = new InMemoryTransport();
  registerRpc(t, {
    info,
    headers: () => [],
    echo: (a) => a,
    statusJson: () => ({ status: "OK", height: 1 }),
    ...handlers,
  });
  await t.start();
  return t;
}

describe("in-memory transport", () => {
  test("handlers see the identity the caller was given; sends back reach the caller's own handlers", async () => {
    const t = new InMemoryTransport();
    const seen: string[] = [];
    t.addCategory("c", "basic")
      .addRequestCommand("who", (m) =>
        m.reply(m.access.auth, String(m.access.remoteSN), m.remote, m.conn.isSN ? "sn" : ""),
      )
      .addCommand("poke", (m) => m.sendBack("c.back", ["hi"]));
    t.addCategory("client", "none").addCommand("back", (m) => void seen.push(text(m.data)[0]!));
    t.addCommandAlias("c.back", "client.back");
    await t.start();
    const pubkey = new Uint8Array(32).fill(7);
    const admin = t.connect({ pubkey, auth: "admin", serviceNode: true, remote: "10.0.0.1" });
    expect(text(await t.request(admin, "c.who"))).toEqual(["admin", "true", "10.0.0.1", "sn"]);
    await expect(t.request(t.connect(), "c.who")).rejects.toMatchObject({ code: "FORBIDDEN" });
    t.send(t.connect({ auth: "basic" }), "c.poke");
    await waitFor(() => seen.length === 1, "sendBack");
    expect(seen).toEqual(["hi"]);
    await t.close();
  });

  test("error words reach the caller at once, in both forms; identities a network could not admit are refused", async () => {
    const t = new InMemoryTransport();
    t.addCategory("adm", "admin").addCommand("plain", () => {});
    await t.start();
    const conn = t.connect();
    // [FORBIDDEN, command]: the command form, matched to the one pending request for that command.
    await expect(t.request(conn, "adm.plain", [], { timeout: 3000 })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(t.request(conn, "adm.nope", [], { timeout: 3000 })).rejects.toMatchObject({ code: "UNKNOWNCOMMAND" });
    expect(() => t.connect({ auth: "denied" })).toThrow(/auth must be none, basic or admin/);
    expect(() => t.connect({ auth: "root" as "admin" })).toThrow(/auth must be/);
    expect(() => t.connect({ serviceNode: true })).toThrow(/needs its pubkey/);
    await t.close();
    await expect(t.start()).rejects.toMatchObject({ code: "CLOSED" });
  });

  test("requests time out, are aborted, and fail DISCONNECTED when their connection closes", async () => {
    let owed: DeferredSend | undefined;
    const t = new InMemoryTransport();
    t.addCategory("c", "none").addRequestCommand("hang", (m: Message) => void (owed = m.later()));
    await t.start();
    const conn = t.connect();
    await expect(t.request(conn, "c.hang", [], { timeout: 20 })).rejects.toMatchObject({ code: "TIMEOUT" });
    const pending = t.request(conn, "c.hang");
    await waitFor(() => owed !== undefined, "handler");
    t.disconnect(conn);
    await expect(pending).rejects.toMatchObject({ code: "DISCONNECTED" });
    await expect(t.request(conn, "c.hang")).rejects.toMatchObject({ code: "DISCONNECTED" });
    owed!.reply("late"); // to a closed connection: dropped, nothing thrown
    await t.close({ timeout: 0 });
  });

  test("close() fails the callers' requests at once (they are this instance's), waits for deferred replies", async () => {
    const given: string[] = [];
    let running = 0;
    const t = await started({
      echo: (a, ctx) => {
        running++;
        const r = ctx.later();
        setTimeout(() => {
          r.resolve({ text: a.text });
          given.push(a.text);
        }, 30);
        return r;
      },
    });
    const rpc = new RpcClient(t, t.connect());
    const replies = [rpc.echo({ text: "a" }), rpc.echo({ text: "b" })];
    await waitFor(() => running === 2, "both handlers");
    const closed = t.close();
    for (const r of replies) await expect(r).rejects.toMatchObject({ code: "CLOSED" });
    expect(given).toEqual([]);
    await closed;
    expect(given).toEqual(["a", "b"]);
    await expect(rpc.info()).rejects.toMatchObject({ code: "CLOSED" });
  });

  test("application errors and invalid results travel as statuses, as over sockets", async () => {
    const t = await started({
      echo: ({ text: s }) => {
        if (s === "teapot") throw new RpcError(418, "short and stout");
        return { text: 1 as unknown as string };
      },
    });
    const rpc = new RpcClient(t, t.connect());
    await expect(rpc.echo({ text: "teapot" })).rejects.toMatchObject({ status: 418, message: "short and stout" });
    await expect(rpc.echo({ text: "x" })).rejects.toMatchObject({ status: 500 });
    await t.close();
  });

  test("a handler cannot change what the caller sent: frames are copied on the hand-over", async () => {
    const t = new InMemoryTransport();
    t.addCategory("c", "none").addRequestCommand("zap", (m) => {
      m.data[0]!.fill(0);
      m.reply("done");
    });
    await t.start();
    const frame = Buffer.from("abc");
    await t.request(t.connect(), "c.zap", [frame]);
    expect(frame.toString()).toBe("abc");
    await t.close();
  });
});
