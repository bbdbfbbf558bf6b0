import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { btDecode, btEncode, RpcError, toHex, type ServerTransport } from "../runtime/index.js";
import { registerRpc, registerSystem, RpcClient, SystemClient, type RpcHandlers } from "../generated/node.js";
import * as access from "./fixtures/generated/access.js";
import { registerTypes, TypesClient, type Everything, type Tree } from "./fixtures/generated/types.js";
import { text, waitFor } from "./helpers/omq.js";
import { harness, TRANSPORTS, WITH_IDENTITIES, type Caller, type Harness } from "./helpers/transports.js";

// Generated clients ↔ generated handlers, over CURVE on tcp and ipc, the instance's own inproc connection, and the
// in-memory transport (no sockets): the same behaviour on each.
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

function register(server: ServerTransport): void {
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
  const who = (_: void, ctx: { auth: string; serviceNode: boolean }) => ctx.auth + (ctx.serviceNode ? "+sn" : "");
  access.registerOpen(server, { who });
  access.registerMembers(server, { who });
  access.registerAdmin(server, { who });
  access.registerSnonly(server, { who });
  access.registerLocalsn(server, { who });
}

describe.each(TRANSPORTS)("over %s", (kind) => {
  let h: Harness;
  let c: Caller;
  beforeAll(async () => {
    h = await harness(kind);
    register(h.server);
    await h.start();
    c = await h.caller();
  });
  afterAll(() => h.close());

  describe("typed round trips", () => {
    test("bt: every supported type, including bigint beyond 2^53, bytes, optional, nested and recursive", async () => {
      const types = new TypesClient(c.transport, c.conn);
      expect(await types.echo(everything)).toEqual(everything);
      expect(await types.depth(everything.tree!)).toBe(2);
      expect(await types.colors()).toEqual(["red", "blue"]);
    });

    test("json and raw encodings", async () => {
      const types = new TypesClient(c.transport, c.conn);
      expect(await types.jsonEcho(everything)).toEqual(everything);
      const raw = await types.rawEcho([Buffer.from("a"), Buffer.from("b")]);
      expect(raw.map((f) => Buffer.from(f).toString())).toEqual(["b", "a"]);
      expect(await new RpcClient(c.transport, c.conn).statusJson()).toEqual({ status: "OK", height: 10 });
    });

    test("commands, and aliases reaching the same handler", async () => {
      const types = new TypesClient(c.transport, c.conn);
      types.fire({ color: "blue" });
      types.nothing();
      await waitFor(() => fired.includes("blue") && fired.includes("nothing"), "commands");
      const reply = await c.transport.request(c.conn, "echo_everything", [btEncode({ text: Buffer.from("x") })]);
      expect(reply[0]!.toString()).toBe("400"); // the alias reached the typed handler, which validated the arguments
      const info = await new RpcClient(c.transport, c.conn).info();
      expect(info).toEqual({ version: "1.0", network: "devnet", height: 10, serviceNode: false });
      expect(text(await c.transport.request(c.conn, "get_info")).slice(0, 1)).toEqual(["200"]);
    });
  });

  describe("errors", () => {
    test("application errors reach the client typed, with status and message", async () => {
      const rpc = new RpcClient(c.transport, c.conn);
      const err = await rpc.echo({ text: "missing" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ status: 404, message: "no such thing", code: "APP_ERROR" });
      await expect(rpc.echo({ text: "crash" })).rejects.toMatchObject({ status: 500, message: "internal error" });
      await expect(rpc.echo({ text: "invalid" })).rejects.toMatchObject({ status: 500 });
      expect(await rpc.echo({ text: "later" })).toEqual({ text: "later, " + toHex(c.pubkey).slice(0, 8) });
      expect(h.logs.some((l) => l.level === "error" && l.message.includes("invalid result"))).toBe(true);
    });

    test("a request to an unknown command fails at once with the error word", async () => {
      // 3 s: a TIMEOUT would mean the error word went astray (the request fails from the command form of the word).
      await expect(c.transport.request(c.conn, "rpc.nope", [], { timeout: 3000 })).rejects.toMatchObject({
        code: "UNKNOWNCOMMAND",
      });
    });

    test("invalid arguments are rejected on the client before sending", async () => {
      const rpc = new RpcClient(c.transport, c.conn);
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
        const reply = await c.transport.request(c.conn, "rpc.echo", frames);
        expect(reply[0]!.toString()).toBe("400");
        expect(reply[1]!.toString()).toMatch(message);
        expect(await new RpcClient(c.transport, c.conn).echo({ text: "ok" })).toEqual({ text: "ok" });
      }
      // One empty frame means "no arguments" (C++ callers send it): fine for a void command, a clear 400 otherwise.
      for (const frames of [[], [Buffer.alloc(0)]]) {
        const info = await c.transport.request(c.conn, "rpc.info", frames);
        expect(info[0]!.toString()).toBe("200");
        expect(btDecode(info[1]!)).toMatchObject({ network: Buffer.from("devnet") });
      }
      expect(text(await c.transport.request(c.conn, "rpc.echo", [Buffer.alloc(0)]))).toEqual([
        "400",
        "args: missing required field 'text'",
      ]);
      expect(text(await c.transport.request(c.conn, "rpc.status_json", [Buffer.alloc(0)]))[0]).toBe("200");
      const json = await c.transport.request(c.conn, "rpc.status_json", ["{not json"]);
      expect(text(json)[0]).toBe("400");
      const decoded = btDecode(btEncode({ a: 1 }));
      expect(decoded).toEqual({ a: 1 });
    });
  });

  // inproc callers are the instance itself, at admin: no identity to choose.
  (WITH_IDENTITIES.includes(kind) ? test : test.skip)("access policies from the schema are enforced", async () => {
    const who = async (make: (t: Caller) => { who(): Promise<string> }, caller: Caller) =>
      make(caller)
        .who()
        .catch((e: { code: string }) => e.code);
    const anon = c;
    expect(await who((t) => new access.OpenClient(t.transport, t.conn), anon)).toBe("none");
    expect(await who((t) => new access.MembersClient(t.transport, t.conn), anon)).toBe("FORBIDDEN");
    expect(await who((t) => new access.AdminClient(t.transport, t.conn), anon)).toBe("FORBIDDEN");
    expect(await who((t) => new access.SnonlyClient(t.transport, t.conn), anon)).toBe("FORBIDDEN_SN");
    expect(await who((t) => new access.LocalsnClient(t.transport, t.conn), anon)).toBe("FORBIDDEN"); // auth first
    const basic = await h.caller({ auth: "basic" });
    expect(await who((t) => new access.MembersClient(t.transport, t.conn), basic)).toBe("basic");
    expect(await who((t) => new access.LocalsnClient(t.transport, t.conn), basic)).toBe("NOT_A_SERVICE_NODE");
    await expect(new SystemClient(basic.transport, basic.conn).setLogLevel({ level: "info" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const admin = await h.caller({ auth: "admin" });
    expect(await who((t) => new access.AdminClient(t.transport, t.conn), admin)).toBe("admin");
    const sn = await h.caller({ serviceNode: true });
    expect(await who((t) => new access.SnonlyClient(t.transport, t.conn), sn)).toBe("none+sn");
    expect(await new RpcClient(sn.transport, sn.conn).echo({ text: "later" })).toEqual({
      text: "later, " + toHex(sn.pubkey).slice(0, 8),
    });
  });
});
