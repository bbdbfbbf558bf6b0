import { appendFileSync } from "node:fs";
import { afterAll, afterEach, expect, test } from "@jest/globals";
import { OmqError, RpcError, type ConnectionID, type OxenMQ } from "../runtime/index.js";
import { closeAll, makeOmq } from "./helpers/omq.js";
import { Proc, type ProcEvent } from "./helpers/proc.js";

// Shutdown and fault handling with a real server process on loopback (docs/scheduling.md#shutdown-and-faults): the
// server is killed with SIGKILL, restarted, and closed with work in flight. Timings are not asserted (the machine
// may be busy); the codes are, and they show which mechanism ended each wait. With OMQ_REPORT=<file>, the waits are
// appended to that file as JSON lines (the figures in the issue notes).

const procs: Proc[] = [];
function server(endpoint?: string): Proc {
  const p = new Proc("fault-server.js", endpoint ? [endpoint] : []);
  procs.push(p);
  return p;
}

afterEach(async () => {
  for (const p of procs.splice(0)) p.kill();
  await closeAll();
});
afterAll(closeAll);

function report(name: string, figures: Record<string, unknown>): void {
  const file = process.env.OMQ_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify({ test: name, ...figures })}\n`);
}

interface Outcome {
  readonly ok: boolean;
  readonly code: string;
  readonly value: string;
  /** When it settled (performance.now()). */
  readonly at: number;
}

/** Settles to what happened to a request, and when. */
function outcome(p: Promise<Buffer[]>): Promise<Outcome> {
  return p.then(
    (frames) => ({ ok: true, code: "", value: frames.map(String).join(","), at: performance.now() }),
    (err: unknown) => ({
      ok: false,
      code: err instanceof RpcError ? `RPC ${err.status}` : err instanceof OmqError ? err.code : String(err),
      value: "",
      at: performance.now(),
    }),
  );
}

const codes = (xs: Outcome[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x.code || "ok"] = (out[x.code || "ok"] ?? 0) + 1;
  return out;
};
const worst = (xs: Outcome[], from: number): number => Math.round(Math.max(...xs.map((x) => x.at - from)));

async function connectTo(p: Proc): Promise<{ client: OxenMQ; conn: ConnectionID; endpoint: string }> {
  const { endpoint } = await p.next("ready");
  const client = await makeOmq({ logLevel: "warn", reconnectInterval: 50, reconnectIntervalMax: 200 });
  await client.start();
  const conn = await client.connectRemote(String(endpoint));
  return { client, conn, endpoint: String(endpoint) };
}

const inflight = (n: number) => (e: ProcEvent) => Number(e.n) >= n;

test("a server killed with SIGKILL: pending requests fail DISCONNECTED, not at their deadline; a restart is waited for only on request", async () => {
  const first = server();
  const { client, conn, endpoint } = await connectTo(first);
  const DEADLINE = 10_000;
  const pending = Array.from({ length: 100 }, () => outcome(client.request(conn, "t.hang", [], { timeout: DEADLINE })));
  // These ask to wait for a reconnect: they only end at their (shorter) deadline.
  const patient = Array.from({ length: 10 }, () =>
    outcome(client.request(conn, "t.hang", [], { timeout: 3_000, waitForReconnect: true })),
  );
  await first.next("inflight", inflight(110));
  const killedAt = performance.now();
  first.kill("SIGKILL");
  const failed = await Promise.all(pending);
  expect(codes(failed)).toEqual({ DISCONNECTED: 100 });
  const waited = worst(failed, killedAt);

  // While the server is down, a request fails at once, without sending anything.
  const down = await outcome(client.request(conn, "t.later", ["0"], { timeout: DEADLINE }));
  expect(down.code).toBe("DISCONNECTED");
  expect(codes(await Promise.all(patient))).toEqual({ TIMEOUT: 10 });

  // The server comes back on the same endpoint; a request that asks for it waits for the reconnect.
  const second = server(endpoint);
  const again = outcome(client.request(conn, "t.later", ["0"], { timeout: DEADLINE, waitForReconnect: true }));
  await second.next("ready");
  const back = await again;
  expect(back).toMatchObject({ ok: true, value: "later,0" });
  // Once reconnected, plain requests are sent again.
  expect(await client.request(conn, "t.later", ["1"])).toEqual([Buffer.from("later"), Buffer.from("1")]);
  report("kill -9", { requests: 100, deadlineMs: DEADLINE, worstWaitAfterKillMs: waited, codes: codes(failed) });
}, 60_000);

test("close() with 300 deferred and async replies in flight: every caller gets its reply; new requests get 503", async () => {
  const p = server();
  const { client, conn } = await connectTo(p);
  const opts = { timeout: 30_000 };
  const sent = performance.now();
  const calls = [
    ...Array.from({ length: 100 }, (_, i) => outcome(client.request(conn, "t.async", [`${1000 + i}`], opts))),
    ...Array.from({ length: 100 }, (_, i) => outcome(client.request(conn, "t.later", [`${1500 + i}`], opts))),
    ...Array.from({ length: 100 }, (_, i) =>
      outcome(client.request(conn, "typed.wait", [`i${1200 + i}e`], { ...opts, statusFirst: true })),
    ),
  ];
  await p.next("inflight", inflight(300));
  const closeAt = performance.now();
  p.write("close 10000");
  await p.next("closing");
  // Accepted work finishes; new work is refused where the wire has a way to say so (status-first commands).
  const late = await outcome(client.request(conn, "typed.wait", ["i1e"], { timeout: 5_000, statusFirst: true }));
  expect(late.code).toBe("RPC 503");

  const results = await Promise.all(calls);
  expect(codes(results)).toEqual({ ok: 300 });
  const expected = [
    ...Array.from({ length: 100 }, (_, i) => `async,${1000 + i}`),
    ...Array.from({ length: 100 }, (_, i) => `later,${1500 + i}`),
    ...Array.from({ length: 100 }, (_, i) => `i${1200 + i}e`),
  ];
  expect(results.map((r) => r.value)).toEqual(expected);
  const closed = await p.next("closed");
  // It exits by itself: a closed instance leaves nothing that keeps Node alive.
  expect(await p.exited).toEqual({ code: 0, signal: null });
  expect(p.logs("error")).toEqual([]);
  report("close with 300 in flight", {
    requests: 300,
    worstWaitAfterCloseMs: worst(results, closeAt),
    worstWaitMs: worst(results, sent),
    closeTookMs: closed.ms,
  });
}, 60_000);

test("a deferred reply after close() finished is dropped with a log line; the process stays up and exits cleanly", async () => {
  const p = server();
  const { client, conn } = await connectTo(p);
  const call = outcome(client.request(conn, "t.later", ["3000"], { timeout: 20_000 }));
  await p.next("inflight", inflight(1));
  const closeAt = performance.now();
  p.write("close 200");
  await p.next("closed");
  // The caller learns the connection is gone rather than waiting out its deadline, and while the server process
  // still runs: closing the instance closed its connections (not only the process's exit).
  const r = await call;
  expect(r.code).toBe("DISCONNECTED");
  expect(p.events.filter((e) => e.event === "replied")).toEqual([]);
  // The handler's timer then replies into a closed instance: no throw, a warning, and the process exits normally.
  await p.next("replied");
  expect(await p.exited).toEqual({ code: 0, signal: null });
  expect(p.logs("warn").some((m) => /Dropping a reply/.test(m))).toBe(true);
  expect(p.stderr).toBe("");
  report("deferred reply after close", { callerWaitAfterCloseMs: Math.round(r.at - closeAt) });
}, 60_000);

test("libzmq's made-up routing ids do not repeat from one process to the next", async () => {
  // A peer that presents the next made-up id as its own makes libzmq abort the process (docs/identity.md, fact 8);
  // libzmq draws the first one from an unseeded rand(), so without our shift every process used the same value.
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = new Proc("route-probe.js");
    procs.push(p);
    const { routes } = await p.next("route");
    expect(routes).toHaveLength(1);
    seen.push(String((routes as string[])[0]));
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }
  expect(seen.every((r) => /^00[0-9a-f]{8}$/.test(r))).toBe(true);
  expect(new Set(seen).size).toBeGreaterThan(1);
}, 60_000);
