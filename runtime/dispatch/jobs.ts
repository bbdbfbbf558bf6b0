import { Batch, JobResult, type BatchJob } from "./batch.js";
import { OmqError } from "../base/errors.js";
import { isRunInProxy, runOn, type TaggedExecutor, type Work } from "./executor.js";
import type { Log } from "../base/log.js";
import type { Scheduler } from "./scheduler.js";
import type { WorkerPool } from "./worker-pool.js";

/** Queues work as a batch job on the pool, or on a tagged executor. */
export function dispatchJob(scheduler: Scheduler, executor: TaggedExecutor | undefined, work: Work): void {
  if (executor) scheduler.submitTagged(executor, work);
  else scheduler.submitJob("batch", work);
}

/**
 * Runs a batch (docs/scheduling.md#jobs-batches-and-completions): every job as a batch job (or on its tagged executor, or on the worker pool
 * while holding a batch slot); after the last one settled, the completion is queued to its target.
 */
export function runBatch<T>(batch: Batch<T>, scheduler: Scheduler, pool: () => WorkerPool, log: Log): void {
  if (batch.submitted) throw new OmqError("INVALID_ARGUMENT", "Batch was already submitted");
  if (batch.size === 0) throw new OmqError("INVALID_ARGUMENT", "Cannot submit an empty batch");
  batch.submitted = true;
  const results = new Array<JobResult<T>>(batch.size);
  let remaining = batch.size;
  const finished = (): void => {
    if (--remaining > 0 || !batch.completionFn) return;
    const fn = batch.completionFn;
    const target = batch.completionTarget;
    const complete = (): unknown => fn(results);
    if (isRunInProxy(target)) {
      try {
        runOn(target.name, complete);
      } catch (err) {
        log.error(`batch completion (in proxy) raised an exception: ${String(err)}`);
      }
    } else dispatchJob(scheduler, target, complete);
  };
  batch.jobs.forEach((job: BatchJob<T>, i) => {
    const run = job.kind === "fn" ? job.fn : () => pool().run(job.spec) as Promise<T>;
    const work = (): Promise<void> | void => {
      const record = (r: JobResult<T>): void => {
        results[i] = r;
        finished();
      };
      try {
        const v = run();
        if (v instanceof Promise)
          return v.then(
            (x) => record(JobResult.success(x)),
            (e: unknown) => record(JobResult.failure(e)),
          );
        record(JobResult.success(v));
      } catch (err) {
        record(JobResult.failure(err));
      }
    };
    dispatchJob(scheduler, job.kind === "fn" ? job.executor : undefined, work);
  });
}
