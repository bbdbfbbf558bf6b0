import { fileURLToPath } from "node:url";
import { Batch, OxenMQ } from "@oxenmq-ts/runtime";
import { work } from "./cpu-job.js";

const cpuJobModule = fileURLToPath(new URL("./cpu-job.js", import.meta.url));

/** Iterations of `work` that take about `ms` on this machine's main thread. */
function calibrate(ms: number): number {
  let n = 1_000_000;
  for (;;) {
    const t0 = performance.now();
    work(n);
    const dt = performance.now() - t0;
    if (dt > 50) return Math.round((n * ms) / dt);
    n *= 2;
  }
}

async function batchOfCpuJobs(threads: number, jobs: number, iterations: number): Promise<number> {
  const omq = await OxenMQ.create({ generalThreads: threads, workerThreads: threads });
  await omq.start();
  // Warm the threads up so that thread start-up is not measured.
  await Promise.all(
    Array.from({ length: threads }, () => omq.runInWorker({ module: cpuJobModule, exportName: "work", args: [1] })),
  );
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const b = new Batch<number>();
    for (let i = 0; i < jobs; i++) b.addWorkerJob({ module: cpuJobModule, exportName: "work", args: [iterations] });
    b.completion(() => resolve());
    omq.batch(b);
  });
  const elapsed = performance.now() - t0;
  await omq.close();
  return elapsed;
}

async function trivialJobs(count: number): Promise<{ schedulerMs: number; baselineMs: number }> {
  const omq = await OxenMQ.create();
  await omq.start();
  let n = 0;
  const fn = (): void => void n++;
  // Baseline: the same closures called from a plain loop (the floor; no scheduling at all).
  let t0 = performance.now();
  for (let i = 0; i < count; i++) fn();
  const baselineMs = performance.now() - t0;
  n = 0;
  t0 = performance.now();
  await new Promise<void>((resolve) => {
    const b = new Batch<void>();
    for (let i = 0; i < count; i++) b.addJob(fn);
    b.completion(() => resolve());
    omq.batch(b);
  });
  const schedulerMs = performance.now() - t0;
  await omq.close();
  if (n !== count) throw new Error(`ran ${n} of ${count} jobs`);
  return { schedulerMs, baselineMs };
}

export async function schedulerBench(): Promise<string> {
  const iterations = calibrate(200);
  const one = await batchOfCpuJobs(1, 8, iterations);
  const two = await batchOfCpuJobs(2, 8, iterations);
  const trivial = await trivialJobs(100_000);
  const perSec = (ms: number): string => Math.round(100_000 / (ms / 1000)).toLocaleString("en-US");
  return [
    "### Scheduler",
    "",
    "| measurement | value |",
    "|---|---|",
    `| 8 CPU-bound jobs (~200 ms each), worker pool of 1 thread | ${one.toFixed(0)} ms |`,
    `| same, pool of 2 threads | ${two.toFixed(0)} ms |`,
    `| speed-up 2 threads / 1 thread (target >= 1.7x) | ${(one / two).toFixed(2)}x |`,
    `| 100,000 trivial batch jobs through the scheduler | ${trivial.schedulerMs.toFixed(0)} ms (${perSec(trivial.schedulerMs)} jobs/s, ${((trivial.schedulerMs * 1000) / 100_000).toFixed(2)} µs/job) |`,
    `| baseline: same closures from a plain loop | ${trivial.baselineMs.toFixed(1)} ms |`,
    `| scheduler overhead per job (scheduler - baseline) | ${(((trivial.schedulerMs - trivial.baselineMs) * 1000) / 100_000).toFixed(2)} µs |`,
  ].join("\n");
}
