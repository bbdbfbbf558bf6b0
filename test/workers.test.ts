import { afterEach, expect, test } from "@jest/globals";
import { join } from "node:path";
import { Batch, type JobResult } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

afterEach(closeAll);
const module = join(process.cwd(), "test/fixtures/cpu-jobs.mjs");

test("a worker job returns a value; a throwing one comes back as an error", async () => {
  const omq = await makeOmq({ workerThreads: 2 });
  await omq.start();
  expect(await omq.runInWorker({ module, exportName: "square", args: [12] })).toBe(144);
  await expect(omq.runInWorker({ module, exportName: "fail", args: ["bad input"] })).rejects.toMatchObject({
    name: "RangeError",
    message: "bad input",
  });
  await expect(omq.runInWorker({ module, exportName: "missing" })).rejects.toThrow(/no exported function/);
  await expect(omq.runInWorker({ module: "relative.mjs", exportName: "x" })).rejects.toMatchObject({
    code: "INVALID_ARGUMENT",
  });
});

test("a batch of worker jobs runs on two threads in parallel", async () => {
  const omq = await makeOmq({ generalThreads: 2, workerThreads: 2 });
  await omq.start();
  type Span = { threadId: number; start: number; end: number };
  let results: JobResult<Span>[] = [];
  const b = new Batch<Span>();
  for (let i = 0; i < 4; i++) b.addWorkerJob({ module, exportName: "spin", args: [150] });
  b.addWorkerJob({ module, exportName: "fail", args: ["in a thread"] });
  b.completion((r) => void (results = r));
  omq.batch(b);
  await waitFor(() => results.length === 5, "batch done", 10_000);
  const spans = results.slice(0, 4).map((r) => r.get());
  expect(new Set(spans.map((s) => s.threadId)).size).toBe(2);
  // Some two jobs ran at the same time on different threads.
  const overlap = spans.some((a) => spans.some((b) => a.threadId !== b.threadId && a.start < b.end && b.start < a.end));
  expect(overlap).toBe(true);
  expect(results[4]!.ok).toBe(false);
});

test("closing with worker jobs in flight fails them with CLOSED and stops the threads", async () => {
  const omq = await makeOmq({ workerThreads: 1 });
  await omq.start();
  const running = omq.runInWorker({ module, exportName: "sleep", args: [5_000] });
  const outcome = expect(running).rejects.toMatchObject({ code: "CLOSED" });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await omq.close({ timeout: 100 });
  await outcome;
  expect(Date.now() - t0).toBeLessThan(2_000);
});
