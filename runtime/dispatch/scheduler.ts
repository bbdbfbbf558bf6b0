import { availableParallelism } from "node:os";
import { OmqError } from "../base/errors.js";
import type { Log } from "../base/log.js";
import { POOL, runOn, type TaggedExecutor, type Work } from "./executor.js";

/**
 * A group of commands that shares reserved slots and one bounded queue: a category (docs/scheduling.md#slots-and-admission).
 * The scheduler keeps its counts.
 */
export interface SlotGroup {
  readonly name: string;
  readonly reservedThreads: number;
  readonly maxQueue: number;
  /** Running commands and injected tasks of this group. */
  active: number;
  /** Queued commands and injected tasks of this group. */
  queued: number;
}

/** Pool job kinds with their own reserved slots (docs/scheduling.md#slots-and-admission, rule 3). */
export type JobKind = "batch" | "reply";

export interface SchedulerOptions {
  /** Slots for any work. Default: the number of CPUs. */
  readonly generalThreads?: number;
  /** Slots reserved for batch jobs; -1 means (general+1)/2. */
  readonly batchThreads?: number;
  /** Slots reserved for reply jobs; -1 means (general+7)/8. */
  readonly replyThreads?: number;
}

/** A label for logs, built only when a log line needs it (never on the per-message path). */
export type Label = string | (() => string);
const label = (l: Label): string => (typeof l === "function" ? l() : l);

interface QueuedCommand {
  readonly cat: SlotGroup;
  readonly work: Work;
  readonly what: Label;
  /** Called if the command is dropped from the queue at shutdown. */
  readonly onDrop: (() => void) | undefined;
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/**
 * Concurrency slots and admission, as OxenMQ's proxy does with worker threads (docs/scheduling.md): general slots,
 * per-category reserved slots, batch- and reply-reserved slots, bounded per-category queues; queued work goes first
 * in the order batch → reply → commands, FIFO within a category.
 */
export class Scheduler {
  readonly general: number;
  readonly batchReserved: number;
  readonly replyReserved: number;
  private maxWorkers: number;
  active = 0;
  batchActive = 0;
  replyActive = 0;
  private readonly batchQueue: Work[] = [];
  private readonly replyQueue: Work[] = [];
  private readonly tagged = new Set<TaggedExecutor>();
  private taggedActive = 0;
  private pending: QueuedCommand[] = [];
  private stopped = false;
  private processing = false;
  private again = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    options: SchedulerOptions,
    private readonly log: Log,
  ) {
    const general = options.generalThreads ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(general) || general < 1)
      throw new OmqError("INVALID_ARGUMENT", `generalThreads must be >= 1, got ${general}`);
    const batch = options.batchThreads ?? -1;
    const reply = options.replyThreads ?? -1;
    if (batch < -1 || reply < -1) throw new OmqError("INVALID_ARGUMENT", "batchThreads/replyThreads must be >= -1");
    this.general = general;
    this.batchReserved = batch === -1 ? Math.floor((general + 1) / 2) : batch;
    this.replyReserved = reply === -1 ? Math.floor((general + 7) / 8) : reply;
    this.maxWorkers = general + this.batchReserved + this.replyReserved;
  }

  /** Fixes the slot total once the categories are known (at start). */
  configure(categories: Iterable<SlotGroup>): void {
    let reserved = 0;
    for (const c of categories) reserved += c.reservedThreads;
    this.maxWorkers = this.general + this.batchReserved + this.replyReserved + reserved;
  }

  /** Admits a command (or injected task) of `cat`: run now, queue, or drop (docs/scheduling.md#slots-and-admission, rule 1). */
  submitCommand(cat: SlotGroup, work: Work, what: Label, onDrop?: () => void): "started" | "queued" | "dropped" {
    if (this.stopped) return "dropped";
    if (cat.active < cat.reservedThreads || this.active < this.general) {
      this.runCommand(cat, work, what);
      return "started";
    }
    if (cat.maxQueue < 0 || cat.queued < cat.maxQueue) {
      cat.queued++;
      this.pending.push({ cat, work, what, onDrop });
      return "queued";
    }
    this.log.warn(
      () => `No space to queue ${label(what)}: category '${cat.name}' queue is full (${cat.maxQueue}); dropping it`,
    );
    return "dropped";
  }

  /** Queues a pool job and runs it as soon as the rules allow. */
  submitJob(kind: JobKind, work: Work): void {
    if (this.stopped) return;
    (kind === "batch" ? this.batchQueue : this.replyQueue).push(work);
    this.process();
  }

  /** Queues work on a tagged executor: strictly one at a time, FIFO, not counted in the pool (docs/scheduling.md#tagged-executors). */
  submitTagged(executor: TaggedExecutor, work: Work): void {
    if (this.stopped) return;
    executor.queue.push(work);
    this.tagged.add(executor);
    this.process();
  }

  /**
   * Stops dispatching: queued work is never run (docs/scheduling.md#shutdown-and-faults), running work finishes. Each
   * dropped command's `onDrop` runs; returns how many commands and jobs were dropped.
   */
  stop(): number {
    this.stopped = true;
    let dropped = this.batchQueue.length + this.replyQueue.length + this.pending.length;
    for (const t of this.tagged) {
      dropped += t.queue.length;
      t.queue.length = 0;
    }
    const pending = this.pending;
    this.pending = [];
    for (const q of pending) {
      q.cat.queued--;
      try {
        q.onDrop?.();
      } catch (err) {
        this.log.warn(`dropping ${label(q.what)} at shutdown: ${describe(err)}`);
      }
    }
    this.batchQueue.length = 0;
    this.replyQueue.length = 0;
    return dropped;
  }

  /** Work that holds a slot or waits for one (for shutdown's log line). */
  get load(): { running: number; queued: number } {
    let queued = this.batchQueue.length + this.replyQueue.length + this.pending.length;
    for (const t of this.tagged) queued += t.queue.length;
    return { running: this.active + this.taggedActive, queued };
  }

  /** Resolves once no work holds a slot. */
  idle(): Promise<void> {
    if (this.active === 0 && this.taggedActive === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private canRunJob(activeOfKind: number, reserved: number): boolean {
    return this.active < this.maxWorkers && (activeOfKind < reserved || this.active < this.general);
  }

  private process(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    this.processing = true;
    try {
      do {
        this.again = false;
        this.processOnce();
      } while (this.again);
    } finally {
      this.processing = false;
    }
  }

  private processOnce(): void {
    for (const t of this.tagged) {
      if (!t.busy && t.queue.length && !this.stopped) this.runTagged(t, t.queue.shift()!);
    }
    {
      while (!this.stopped && this.batchQueue.length && this.canRunJob(this.batchActive, this.batchReserved)) {
        this.runJob("batch", this.batchQueue.shift()!);
      }
      while (!this.stopped && this.replyQueue.length && this.canRunJob(this.replyActive, this.replyReserved)) {
        this.runJob("reply", this.replyQueue.shift()!);
      }
      if (this.pending.length && this.active < this.maxWorkers) {
        const keep: QueuedCommand[] = [];
        for (const q of this.pending) {
          if (
            !this.stopped &&
            this.active < this.maxWorkers &&
            (q.cat.active < q.cat.reservedThreads || this.active < this.general)
          ) {
            q.cat.queued--;
            this.runCommand(q.cat, q.work, q.what);
          } else keep.push(q);
        }
        this.pending = keep;
      }
    }
  }

  private runCommand(cat: SlotGroup, work: Work, what: Label): void {
    cat.active++;
    this.run(work, (err) => {
      cat.active--;
      if (err !== undefined) this.log.warn(() => `${label(what)} raised an exception: ${describe(err)}`);
    });
  }

  private runJob(kind: JobKind, work: Work): void {
    if (kind === "batch") this.batchActive++;
    else this.replyActive++;
    this.run(work, (err) => {
      if (kind === "batch") this.batchActive--;
      else this.replyActive--;
      if (err !== undefined) this.log.debug(`${kind} job raised an exception: ${describe(err)}`);
    });
  }

  private runTagged(t: TaggedExecutor, work: Work): void {
    t.busy = true;
    this.taggedActive++;
    this.execute(t.name, work, (err) => {
      t.busy = false;
      this.taggedActive--;
      if (err !== undefined) this.log.debug(`job on '${t.name}' raised an exception: ${describe(err)}`);
    });
  }

  private run(work: Work, after: (err: unknown) => void): void {
    this.active++;
    this.execute(POOL, work, (err) => {
      this.active--;
      after(err);
    });
  }

  /** Runs work as code of `executor`; `after` runs once it settled, then waiting work is dispatched. */
  private execute(executor: string, work: Work, after: (err: unknown) => void): void {
    const done = (err: unknown): void => {
      after(err);
      if (this.active === 0 && this.taggedActive === 0 && this.idleWaiters.length)
        for (const w of this.idleWaiters.splice(0)) w();
      this.process();
    };
    let result: unknown;
    try {
      result = runOn(executor, work);
    } catch (err) {
      done(err ?? new Error("undefined thrown"));
      return;
    }
    if (isPromiseLike(result))
      result.then(
        () => done(undefined),
        (err: unknown) => done(err ?? new Error("rejected")),
      );
    else done(undefined);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
