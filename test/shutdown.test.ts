import { getEventListeners } from "node:events";
import { afterEach, expect, test } from "@jest/globals";
import { OmqError, OxenMQ, RpcError, type ConnectionID, type DeferredSend } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

// The shutdown contract and the option checks, in one process (docs/scheduling.md#shutdown-and-faults). The same
// contract with real processes, SIGKILL and restarts: test/faults.test.ts.

afterEach(closeAll);

type Omq = Awaited<ReturnType<typeof makeOmq>>;

async function pair(
  serverOptions: Parameters<typeof makeOmq>[0] = {},
  setup?: (s: Omq) => void,
  clientSetup?: (c: Omq) => void,
) {
  const server = await makeOmq(serverOptions);
  setup?.(server);
  const ep = server.listenPlain("tcp://127.0.0.1:0");
  await server.start();
  const client = await makeOmq();
  clientSetup?.(client);
  await client.start();
  const conn = await client.connectRemote(await ep);
  return { server, client, conn };
}

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (err: unknown) =>
      err instanceof RpcError ? `RPC ${err.status}` : err instanceof OmqError ? err.code : String(err),
  );

const logged = (o: Omq, level: string, re: RegExp): boolean =>
  o.logs.some((l) => l.level === level && re.test(l.message));

test("while draining: accepted work finishes and is answered, new status-first requests get 503, others are dropped with a log line", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started = 0;
  const { server, client, conn } = await pair({}, (s) =>
    s
      .addCategory("s", "none")
      .addRequestCommand("slow", (m) => {
        started++;
        const d = m.later();
        void released.then(() => d.reply("done"));
      })
      .addRequestCommand("typed", (m) => m.reply("200", "x"), { statusFirst: true })
      .addRequestCommand("plain", (m) => m.reply("x")),
  );
  const slow = client.request(conn, "s.slow", [], { timeout: 10_000 });
  await waitFor(() => started === 1, "the slow handler");
  const closing = server.close({ timeout: 10_000 });
  const refused = client.request(conn, "s.typed", [], { statusFirst: true, timeout: 5_000 });
  await expect(refused).rejects.toMatchObject({ status: 503, message: expect.stringContaining("shutting down") });
  // The wire has no error for a plain request: it is dropped (the caller's deadline ends it), with a log line.
  expect(await codeOf(client.request(conn, "s.plain", [], { timeout: 300 }))).toBe("TIMEOUT");
  expect(logged(server, "info", /Dropping 's\.plain'.*shutting down/)).toBe(true);
  // The handler that was running when close() began still gets its reply out.
  release();
  expect((await slow).map(String)).toEqual(["done"]);
  await closing;
});

test("while draining, a finishing handler still gets the replies to its own requests", async () => {
  let answer!: () => void;
  const asked = new Promise<void>((r) => (answer = r));
  let clientAsked = false;
  const { server, client, conn } = await pair(
    {},
    (s) =>
      s.addCategory("s", "none").addRequestCommand("relay", async (m) => {
        // Asks the caller back over its incoming connection, and answers with what it got.
        const got = await m.sendRequest("c.echo", ["ping"], { timeout: 10_000 });
        m.reply("relayed", ...got);
      }),
    (c) =>
      c.addCategory("c", "none").addRequestCommand("echo", (m) => {
        clientAsked = true;
        const d = m.later();
        void asked.then(() => d.reply(...m.data));
      }),
  );
  const relay = client.request(conn, "s.relay", [], { timeout: 10_000 });
  await waitFor(() => clientAsked, "the server's request to the client");
  const closing = server.close({ timeout: 10_000 });
  answer(); // the reply reaches the server while it drains
  const got = await relay;
  expect(got.map(String)).toEqual(["relayed", "ping"]);
  await closing;
});

test("a status-first request still queued when the close timeout ends is answered 503", async () => {
  let unblock!: () => void;
  const blocked = new Promise<void>((r) => (unblock = r));
  let busy = 0;
  const { server, client, conn } = await pair({ generalThreads: 1 }, (s) =>
    s
      .addCategory("q", "none")
      .addRequestCommand("block", async (m) => {
        busy++;
        await blocked;
        m.reply("late");
      })
      .addRequestCommand("typed", (m) => m.reply("200", "x"), { statusFirst: true }),
  );
  const first = codeOf(client.request(conn, "q.block", [], { timeout: 10_000 }));
  await waitFor(() => busy === 1, "the blocking handler");
  // Accepted, but waiting for the only slot.
  const queued = codeOf(client.request(conn, "q.typed", [], { statusFirst: true, timeout: 10_000 }));
  const scheduler = (server as unknown as { scheduler: { load: { queued: number } } }).scheduler;
  await waitFor(() => scheduler.load.queued === 1, "the queued request");
  await server.close({ timeout: 200 });
  expect(await queued).toBe("RPC 503");
  expect(logged(server, "warn", /close: after 200 ms, 1 handler\(s\) still running, 1 queued/)).toBe(true);
  unblock();
  // The blocked handler's reply after the instance closed is dropped with a log line.
  await waitFor(() => logged(server, "warn", /Dropping a reply/), "the dropped reply's log line");
  expect(["TIMEOUT", "DISCONNECTED"]).toContain(await first);
});

test("close() fails the instance's own pending requests with CLOSED at once, is shared by every caller, and then refuses calls", async () => {
  const { client, conn } = await pair({}, (s) =>
    s.addCategory("h", "none").addRequestCommand("hang", (m) => void m.later()),
  );
  const pending = codeOf(client.request(conn, "h.hang", [], { timeout: 30_000 }));
  const a = client.close({ timeout: 5_000 });
  const b = client.close();
  expect(await pending).toBe("CLOSED");
  await Promise.all([a, b]);
  expect(() => client.send(conn, "h.hang")).toThrow(expect.objectContaining({ code: "CLOSED" }));
  expect(await codeOf(client.request(conn, "h.hang"))).toBe("CLOSED");
});

test("a reply given after close() finished is dropped with a warning, not thrown", async () => {
  let held: DeferredSend | undefined;
  const { server, client, conn } = await pair({}, (s) =>
    s.addCategory("d", "none").addRequestCommand("defer", (m) => void (held = m.later())),
  );
  const call = codeOf(client.request(conn, "d.defer", [], { timeout: 10_000 }));
  await waitFor(() => held !== undefined, "the deferred handler");
  await server.close({ timeout: 50 });
  expect(() => held!.reply("too late")).not.toThrow();
  expect(logged(server, "warn", /Dropping a reply .*the instance is closed/)).toBe(true);
  // The caller learns at once that the connection is gone: closing the instance closed its connections.
  expect(await call).toBe("DISCONNECTED");
});

test("await using closes the instance when the scope ends", async () => {
  let outer: OxenMQ | undefined;
  {
    await using omq = await OxenMQ.create({ logLevel: "error", closeLinger: 0 });
    await omq.start();
    outer = omq;
    expect(outer.started).toBe(true);
  }
  expect(() => outer.send({} as ConnectionID, "x")).toThrow(expect.objectContaining({ code: "CLOSED" }));
});

test("a request sent over an incoming connection fails DISCONNECTED when that peer goes away", async () => {
  let asked: Promise<string> | undefined;
  let hung = false;
  const { client, conn } = await pair(
    {},
    (s) =>
      s.addCategory("b", "none").addRequestCommand("ask", (m) => {
        // The server asks the client back over the client's own (incoming) connection.
        asked = codeOf(m.later().sendRequest("c.hang", [], { timeout: 30_000 }));
        m.reply("asked");
      }),
    (c) =>
      c.addCategory("c", "none").addRequestCommand("hang", (m) => {
        hung = true;
        m.later();
      }),
  );
  expect((await client.request(conn, "b.ask")).map(String)).toEqual(["asked"]);
  await waitFor(() => hung, "the client's handler");
  await client.close({ timeout: 0 });
  expect(await asked).toBe("DISCONNECTED");
});

test("1,000 requests sharing one AbortSignal add one listener and no warning; aborting fails them all", async () => {
  const { client, conn } = await pair({}, (s) =>
    s.addCategory("h", "none").addRequestCommand("hang", (m) => void m.later()),
  );
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on("warning", onWarning);
  try {
    const ac = new AbortController();
    const calls = Array.from({ length: 1000 }, () =>
      codeOf(client.request(conn, "h.hang", [], { timeout: 30_000, signal: ac.signal })),
    );
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    expect(new Set(await Promise.all(calls))).toEqual(new Set(["ABORTED"]));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);

    // Requests that settle on their own remove the listener too.
    const ac2 = new AbortController();
    for (let i = 0; i < 20; i++)
      expect(await codeOf(client.request(conn, "h.hang", [], { timeout: 1, signal: ac2.signal }))).toBe("TIMEOUT");
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(warnings.map(String)).toEqual([]);
  } finally {
    process.off("warning", onWarning);
  }
});

test("timeouts of 0 or less fail at once; NaN and Infinity are rejected, naming the option", async () => {
  const { client, conn } = await pair({}, (s) =>
    s.addCategory("h", "none").addRequestCommand("hang", (m) => void m.later()),
  );
  expect(await codeOf(client.request(conn, "h.hang", [], { timeout: 0 }))).toBe("TIMEOUT");
  expect(await codeOf(client.request(conn, "h.hang", [], { timeout: -5 }))).toBe("TIMEOUT");
  for (const timeout of [NaN, Infinity, -Infinity]) {
    await expect(client.request(conn, "h.hang", [], { timeout })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("timeout"),
    });
  }
  expect(() => client.send(conn, "h.hang", [], { keepAlive: NaN })).toThrow(/keepAlive/);
  expect(() => client.connectSN(new Uint8Array(32).fill(1), { keepAlive: -1 })).toThrow(/keepAlive/);
  expect(() => client.addTimer(() => {}, Infinity)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  expect(() => client.addTimer(() => {}, 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  await expect(client.close({ timeout: NaN })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  await expect(client.close({ timeout: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
});

test.each([
  ["closeLinger", -1],
  ["maxMessageSize", -2],
  ["connCheckInterval", 0],
  ["generalThreads", 0],
  ["workerThreads", 1.5],
  ["handshakeTime", NaN],
  ["reconnectInterval", Infinity],
  ["batchThreads", -2],
])("OxenMQ.create rejects %s = %p", async (option, value) => {
  await expect(OxenMQ.create({ [option]: value })).rejects.toMatchObject({
    code: "INVALID_ARGUMENT",
    message: expect.stringContaining(option),
  });
});
