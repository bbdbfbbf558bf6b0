import { afterEach, expect, test } from "@jest/globals";
import { Batch, currentExecutor, JobResult, RUN_IN_PROXY } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

afterEach(closeAll);

test("a batch of many small jobs, some throwing: results in insertion order, values and errors", async () => {
  const omq = await makeOmq();
  await omq.start();
  let results: JobResult<number>[] = [];
  const b = new Batch<number>();
  for (let i = 0; i < 200; i++)
    b.addJob(i % 10 === 3 ? () => Promise.reject(new Error(`job ${i}`)) : i % 7 === 0 ? async () => i : () => i);
  b.completion((r) => void (results = r));
  omq.batch(b);
  await waitFor(() => results.length === 200, "batch completion");
  const ok = results.filter((r) => r.ok);
  expect(ok.reduce((s, r) => s + r.get(), 0)).toBe(
    Array.from({ length: 200 }, (_, i) => i)
      .filter((i) => i % 10 !== 3)
      .reduce((s, i) => s + i, 0),
  );
  expect(results.filter((r) => !r.ok)).toHaveLength(20);
  expect(() => results[3]!.get()).toThrow("job 3");
  expect(results[5]!.get()).toBe(5);
});

test("void results; completion on a tagged executor and inline in the proxy", async () => {
  const omq = await makeOmq();
  const tagged = omq.addTaggedThread("collector");
  await omq.start();
  const where: Array<string | undefined> = [];
  let ran = 0;
  const b = new Batch<void>();
  for (let i = 0; i < 5; i++) b.addJob(() => void ran++);
  b.completion(
    (r) => void where.push(currentExecutor(), String(r.every((x) => x.ok && x.get() === undefined))),
    tagged,
  );
  omq.batch(b);
  const p = new Batch<number>().addJob(() => 1).completion(() => void where.push(currentExecutor()), RUN_IN_PROXY);
  omq.batch(p);
  await waitFor(() => where.length === 3, "both completions");
  expect(ran).toBe(5);
  expect(where).toEqual(expect.arrayContaining(["collector", "true", "_proxy"]));
});

test("batch misuse fails clearly", async () => {
  const omq = await makeOmq();
  await omq.start();
  expect(() => omq.batch(new Batch())).toThrow(/empty batch/);
  const b = new Batch<number>().addJob(() => 1).completion(() => {});
  expect(() => b.completion(() => {})).toThrow(/already set/);
  expect(() => new Batch().addJob(() => {}, RUN_IN_PROXY as never)).toThrow(/proxy/);
  expect(() => omq.job(() => {}, RUN_IN_PROXY as never)).toThrow(/proxy/);
  omq.batch(b);
  expect(() => omq.batch(b)).toThrow(/already submitted/);
  expect(() => omq.addTaggedThread("late")).toThrow(/before start/);
  const fresh = await makeOmq();
  expect(() => fresh.addTaggedThread("_proxy")).toThrow(/_proxy/);
  expect(() => fresh.addTaggedThread("")).toThrow(/non-empty/);
});

test("a tagged executor runs 100 jobs one at a time in FIFO order, and its start callback first", async () => {
  const omq = await makeOmq();
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  const t = omq.addTaggedThread("serial", () => void order.push(-1));
  await omq.start();
  for (let i = 0; i < 100; i++)
    omq.job(async () => {
      running++;
      peak = Math.max(peak, running);
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      order.push(i);
      running--;
    }, t);
  await waitFor(() => order.length === 101, "100 jobs");
  expect(order).toEqual([-1, ...Array.from({ length: 100 }, (_, i) => i)]);
  expect(peak).toBe(1);
});

test("a tagged executor keeps running while every pool slot is busy", async () => {
  const omq = await makeOmq({ generalThreads: 1, batchThreads: 0, replyThreads: 0 });
  const t = omq.addTaggedThread("side");
  await omq.start();
  let release: () => void = () => {};
  let poolJobsRan = 0;
  omq.job(() => new Promise<void>((r) => (release = r)));
  omq.job(() => void poolJobsRan++); // queued: the only slot is held
  let taggedRan = false;
  omq.job(() => void (taggedRan = true), t);
  await waitFor(() => taggedRan, "tagged job despite a full pool");
  expect(poolJobsRan).toBe(0);
  release();
  await waitFor(() => poolJobsRan === 1, "queued pool job after release");
});

test("job and handler exceptions never crash the process", async () => {
  const omq = await makeOmq();
  await omq.start();
  let after = false;
  omq.job(() => {
    throw new Error("sync job failure");
  });
  omq.job(() => Promise.reject(new Error("async job failure")));
  omq.job(() => void (after = true));
  await waitFor(() => after, "later job");
  await waitFor(() => omq.logs.some((l) => l.message.includes("async job failure")), "logged");
});
