import { OmqError } from "../base/errors.js";
import { isRunInProxy, type RunInProxy, type TaggedExecutor } from "./executor.js";
import type { WorkerJobSpec } from "./worker-pool.js";

/** The outcome of one batch job: its value, or the error it threw (rethrown by `get()`). */
export class JobResult<T> {
  private constructor(
    readonly ok: boolean,
    private readonly value: T | undefined,
    /** The thrown error, when `ok` is false. */
    readonly error: unknown,
  ) {}

  static success<T>(value: T): JobResult<T> {
    return new JobResult<T>(true, value, undefined);
  }
  static failure<T>(error: unknown): JobResult<T> {
    return new JobResult<T>(false, undefined, error);
  }

  /** The job's value; rethrows the job's error. */
  get(): T {
    if (!this.ok) throw this.error;
    return this.value as T;
  }
}

/** @internal one job of a batch: a function, or a function run on the worker_threads pool. */
export type BatchJob<T> =
  | { readonly kind: "fn"; readonly fn: () => T | Promise<T>; readonly executor: TaggedExecutor | undefined }
  | { readonly kind: "worker"; readonly spec: WorkerJobSpec };

export type CompletionTarget = TaggedExecutor | RunInProxy | undefined;

/**
 * A set of jobs that run in parallel (in any order); once all finished, the completion receives their results in the
 * order the jobs were added. Submit it with `omq.batch(b)`.
 *
 * @example
 * const b = new Batch<number>();
 * for (let i = 0; i < 10; i++) b.addJob(() => i * i);
 * b.completion((results) => console.log(results.map((r) => r.get())));
 * omq.batch(b);
 */
export class Batch<T = void> {
  /** @internal */ readonly jobs: BatchJob<T>[] = [];
  /** @internal */ completionFn: ((results: JobResult<T>[]) => unknown) | undefined;
  /** @internal */ completionTarget: CompletionTarget;
  /** @internal */ submitted = false;

  /** Adds a job, run on the pool or on a tagged executor (not inline in the proxy). */
  addJob(fn: () => T | Promise<T>, executor?: TaggedExecutor): this {
    this.checkOpen();
    if (isRunInProxy(executor))
      throw new OmqError("INVALID_ARGUMENT", "Batch jobs cannot run in the proxy; only completions can");
    this.jobs.push({ kind: "fn", fn, executor });
    return this;
  }

  /** Adds a CPU-bound job run on the worker_threads pool: `spec.module`'s export `spec.exportName`(…args). */
  addWorkerJob(spec: WorkerJobSpec): this {
    this.checkOpen();
    this.jobs.push({ kind: "worker", spec });
    return this;
  }

  /** Sets the completion, run on the pool, on a tagged executor, or inline with `RUN_IN_PROXY`. Once only. */
  completion(fn: (results: JobResult<T>[]) => unknown, target?: CompletionTarget): this {
    this.checkOpen();
    if (this.completionFn) throw new OmqError("INVALID_ARGUMENT", "Batch completion was already set");
    this.completionFn = fn;
    this.completionTarget = target;
    return this;
  }

  get size(): number {
    return this.jobs.length;
  }

  private checkOpen(): void {
    if (this.submitted) throw new OmqError("INVALID_ARGUMENT", "Batch was already submitted");
  }
}
