import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { Address, btDecode, btEncode, RpcError, toHex, type ConnectionID } from "../runtime/index.js";
import { registerRpc, registerSystem, RpcClient, SystemClient, type RpcHandlers } from "../generated/node.js";
import * as access from "./fixtures/generated/access.js";
import { registerTypes, TypesClient, type Everything, type Tree } from "./fixtures/generated/types.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";

// Generated clients ↔ generated handlers over real CURVE sockets.
let server: Awaited<ReturnType<typeof makeOmq>>;
let client: Awaited<ReturnType<typeof makeOmq>>;
let conn: ConnectionID;
let basicConn: ConnectionID;
const fired: string[] = [];

const everything: Everything = {
  text: "héllo",
  count: -42,
  big: 2n ** 64n + 5n,
  flag: true,
  data: new Uint8Array([0, 1, 255]),
  color: "green",
  points: [{ x: 1, y: -1 }],
  matrix: [[1, 2], [], [3]],
  nested: { inner: {}, list: [{ k: "a" }, { k: "b" }] },
  tree: { label: "root", children: [{ label: "leaf", children: [] }] },
};

const rpcHandlers: RpcHandlers = {
  info: (_args, ctx) => ({ version: "1.0", network: "devnet", height: 10, serviceNode: ctx.serviceNode }),
  headers: ({ from, count = 1 }) =>
    Array.from({ length: count }, (_, i) => ({
      height: from + i,
      hash: new Uint8Array(32),
      timestamp: 0,
      emission: 10n ** 20n,
    })),
  echo: ({ text, times = 1 }, ctx) => {
    if (text === "missing") throw new RpcError(404, "no such thing");
    if (text === "crash") throw new Error("handler bug");
    if (text === "invalid") return { text: 5 as unknown as string };
    if (text === "later") {
      const reply = ctx.later();
      setTimeout(() => reply.resolve({ text: "later, " + toHex(ctx.pubkey).slice(0, 8) }), 10);
      return reply;
    }
    return { text: text.repeat(times) };
  },
  statusJson: () => ({ status: "OK", height: 10 }),
};

beforeAll(async () => {
  server = await makeOmq();
  registerRpc(server, rpcHandlers);
  registerSystem(server, { setLogLevel: () => ({ previous: "warn" }), flush: () => {} });
  registerTypes(server, {
    echo: (a) => a,
    depth: function depth(t: Tree): number {
      return 1 + Math.max(0, ...t.children.map((c) => depth(c)));
    },
    jsonEcho: (a) => a,
    rawEcho: (frames) => [...frames].reverse(),
    fire: ({ color }) => void fired.push(color),
    nothing: () => void fired.push("nothing"),
    colors: async () => ["red", "blue"],
  });
  const who = (_: void, ctx: { auth: string }) => ctx.auth;
  access.registerOpen(server, { who });
  access.registerMembers(server, { who });
  access.registerAdmin(server, { who });
  access.registerSnonly(server, { who });
  access.registerLocalsn(server, { who });
  const basicKey = await makeOmq();
  const ep = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (_ip, pk) => (toHex(pk) === toHex(basicKey.publicKey) ? "basic" : "none"),
  });
  await server.start();
  const addr = new Address(await ep, server.publicKey);
  client = await makeOmq();
  await client.start();
  conn = await client.connectRemote(addr);
  await basicKey.start();
  basicConn = await basicKey.connectRemote(addr);
  Object.assign(globalThis, { basicKeyOmq: basicKey });
});
afterAll(closeAll);

describe("typed round trips", () => {
  test("bt: every supported type, including bigint beyond 2^53, bytes, optional, nested and recursive", async () => {
    const types = new TypesClient(client, conn);
    expect(await types.echo(everything)).toEqual(everything);
    expect(await types.depth(everything.tree!)).toBe(2);
    expect(await types.colors()).toEqual(["red", "blue"]);
  });

  test("json and raw encodings", async () => {
    const types = new TypesClient(client, conn);
    expect(await types.jsonEcho(everything)).toEqual(everything);
    const raw = await types.rawEcho([Buffer.from("a"), Buffer.from("b")]);
    expect(raw.map((f) => Buffer.from(f).toString())).toEqual(["b", "a"]);
    expect(await new RpcClient(client, conn).statusJson()).toEqual({ status: "OK", height: 10 });
  });

  test("commands, and aliases reaching the same handler", async () => {
    const types = new TypesClient(client, conn);
    types.fire({ color: "blue" });
    types.nothing();
    await waitFor(() => fired.includes("blue") && fired.includes("nothing"), "commands");
    const reply = await client.request(conn, "echo_everything", [btEncode({ text: Buffer.from("x") })]);
    expect(reply[0]!.toString()).toBe("400"); // the alias reached the typed handler, which validated the arguments
    const info = await new RpcClient(client, conn).info();
    expect(info).toEqual({ version: "1.0", network: "devnet", height: 10, serviceNode: false });
    expect(text(await client.request(conn, "get_info")).slice(0, 1)).toEqual(["200"]);
  });
});

describe("errors", () => {
  test("application errors reach the client typed, with status and message", async () => {
    const rpc = new RpcClient(client, conn);
    const err = await rpc.echo({ text: "missing" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ status: 404, message: "no such thing", code: "APP_ERROR" });
    await expect(rpc.echo({ text: "crash" })).rejects.toMatchObject({ status: 500, message: "internal error" });
    await expect(rpc.echo({ text: "invalid" })).rejects.toMatchObject({ status: 500 });
    expect(await rpc.echo({ text: "later" })).toEqual({ text: "later, " + toHex(client.publicKey).slice(0, 8) });
    expect(server.logs.some((l) => l.level === "error" && l.message.includes("invalid result"))).toBe(true);
  });

  test("invalid arguments are rejected on the client before sending", async () => {
    const rpc = new RpcClient(client, conn);
    await expect(rpc.echo({ text: "x", times: 1.5 })).rejects.toThrow("args.times: expected a safe integer, got 1.5");
    await expect(rpc.echo({ text: 3 } as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  test("a raw client sending wrongly typed or undecodable arguments gets a 400 and the server keeps serving", async () => {
    const cases: Array<[Array<string | Buffer>, RegExp]> = [
      [[Buffer.from("not bencode")], /invalid bt-encoded data/],
      [[btEncode({ text: 5 })], /args.text: expected string, got number/],
      [[btEncode({ times: 1 })], /missing required field 'text'/],
      [[btEncode({ text: Buffer.from([0xff]) })], /invalid UTF-8/],
      [[btEncode({ text: Buffer.from("a") }), "extra frame"], /expected one bt frame/],
      [[btEncode([1, 2])], /expected RpcEchoArgs, got list/],
    ];
    for (const [frames, message] of cases) {
      const reply = await client.request(conn, "rpc.echo", frames);
      expect(reply[0]!.toString()).toBe("400");
      expect(reply[1]!.toString()).toMatch(message);
      expect(await new RpcClient(client, conn).echo({ text: "ok" })).toEqual({ text: "ok" });
    }
    // One empty frame means "no arguments" (C++ callers send it): fine for a void command, a clear 400 otherwise.
    for (const frames of [[], [Buffer.alloc(0)]]) {
      const info = await client.request(conn, "rpc.info", frames);
      expect(info[0]!.toString()).toBe("200");
      expect(btDecode(info[1]!)).toMatchObject({ network: Buffer.from("devnet") });
    }
    expect(text(await client.request(conn, "rpc.echo", [Buffer.alloc(0)]))).toEqual([
      "400",
      "args: missing required field 'text'",
    ]);
    expect(text(await client.request(conn, "rpc.status_json", [Buffer.alloc(0)]))[0]).toBe("200");
    const json = await client.request(conn, "rpc.status_json", ["{not json"]);
    expect(text(json)[0]).toBe("400");
    const decoded = btDecode(btEncode({ a: 1 }));
    expect(decoded).toEqual({ a: 1 });
  });

  test("access policies from the schema are enforced", async () => {
    const who = async (make: (o: typeof client, c: ConnectionID) => { who(): Promise<string> }, c = conn, o = client) =>
      make(o, c)
        .who()
        .catch((e: { code: string }) => e.code);
    expect(await who((o, c) => new access.OpenClient(o, c))).toBe("none");
    expect(await who((o, c) => new access.MembersClient(o, c))).toBe("FORBIDDEN");
    expect(await who((o, c) => new access.AdminClient(o, c))).toBe("FORBIDDEN");
    expect(await who((o, c) => new access.SnonlyClient(o, c))).toBe("FORBIDDEN_SN");
    expect(await who((o, c) => new access.LocalsnClient(o, c))).toBe("FORBIDDEN"); // auth is checked first
    const basicOmq = (globalThis as unknown as { basicKeyOmq: typeof client }).basicKeyOmq;
    expect(await who((o, c) => new access.MembersClient(o, c), basicConn, basicOmq)).toBe("basic");
    expect(await who((o, c) => new access.LocalsnClient(o, c), basicConn, basicOmq)).toBe("NOT_A_SERVICE_NODE");
    await expect(new SystemClient(basicOmq, basicConn).setLogLevel({ level: "info" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });
});
