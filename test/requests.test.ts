import { expect, jest, test } from "@jest/globals";
import { OmqError } from "../runtime/index.js";
import { PendingRequests } from "../runtime/rpc/requests.js";
import { waitFor } from "./helpers/omq.js";

const tag = (name: string): Buffer => Buffer.from(name.padEnd(15, "."));

function add(reqs: PendingRequests, name: string, timeoutMs: number): Promise<OmqError | Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) =>
    reqs.add(tag(name), "conn", name, timeoutMs, undefined, resolve, reject),
  ).catch((e: OmqError) => e);
}

test("one timer serves every deadline: each request times out at its own, in deadline order", async () => {
  const reqs = new PendingRequests();
  const order: string[] = [];
  const t0 = performance.now();
  const at = new Map<string, number>();
  const track = (name: string, p: Promise<OmqError | Buffer[]>) =>
    p.then((r) => {
      order.push(name);
      at.set(name, performance.now() - t0);
      return r;
    });
  // Added in an order unlike their deadlines: the later, shorter ones must re-arm the timer earlier.
  const slow = track("slow", add(reqs, "slow", 400));
  const fast = track("fast", add(reqs, "fast", 100));
  const mid = track("mid", add(reqs, "mid", 250));
  const answered = track("answered", add(reqs, "answered", 150));
  reqs.take(tag("answered"))!.resolve([Buffer.from("ok")]);
  expect(await answered).toEqual([Buffer.from("ok")]);
  for (const [name, p, ms] of [
    ["fast", fast, 100],
    ["mid", mid, 250],
    ["slow", slow, 400],
  ] as const) {
    expect(await p).toMatchObject({ code: "TIMEOUT", message: `request '${name}' timed out after ${ms} ms` });
    expect(at.get(name)).toBeGreaterThanOrEqual(ms - 2);
    expect(at.get(name)).toBeLessThan(ms + 500);
  }
  expect(order).toEqual(["answered", "fast", "mid", "slow"]);
  expect(reqs.size).toBe(0);
});

test("a timeout's rejection is handed to deliverTimeout (the instance runs it as a batch job)", async () => {
  const held: Array<() => void> = [];
  const reqs = new PendingRequests((reject) => held.push(reject));
  let settled = false;
  const p = add(reqs, "x", 20).then((r) => ((settled = true), r));
  await waitFor(() => held.length === 1, "the timeout job");
  expect(reqs.size).toBe(0); // no longer pending: a late reply is ignored
  await Promise.resolve();
  expect(settled).toBe(false);
  held[0]!();
  expect(await p).toMatchObject({ code: "TIMEOUT" });
});

test("a timeout beyond Node's longest timer delay (2^31-1 ms) neither fires early nor spins the timer", async () => {
  const reqs = new PendingRequests();
  let settled = false;
  void add(reqs, "long", 2 ** 40).then(() => (settled = true));
  expect(await add(reqs, "short", 30)).toMatchObject({ code: "TIMEOUT" });
  // Node runs a longer delay after 1 ms: an unclamped timer would re-arm every millisecond from here on.
  const timers = jest.spyOn(globalThis, "setTimeout");
  try {
    await new Promise((r) => setImmediate(r));
    const before = timers.mock.calls.length;
    const t0 = Date.now();
    while (Date.now() - t0 < 30) await new Promise((r) => setImmediate(r));
    expect(timers.mock.calls.length - before).toBeLessThanOrEqual(1);
    expect(settled).toBe(false);
    expect(reqs.size).toBe(1);
  } finally {
    timers.mockRestore();
    reqs.failAll(new OmqError("CLOSED", "done"));
  }
  await waitFor(() => settled, "failAll");
});

test("reply tags are 15 ASCII bytes from 88 random bits, none repeated", () => {
  const tags = Array.from({ length: 5000 }, () => PendingRequests.newTag());
  for (const t of tags) {
    expect(t).toMatch(/^[A-Za-z0-9_-]{15}$/);
    expect(Buffer.byteLength(t)).toBe(15);
  }
  expect(new Set(tags).size).toBe(tags.length);
});
