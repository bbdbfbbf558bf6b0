import { RUN_IN_PROXY, isRunInProxy, runOn, type RunInProxy, type TaggedExecutor, type Work } from "./executor.js";
import type { Log } from "../base/log.js";

/** Identifies a timer for `cancelTimer`. */
export type TimerID = number & { readonly __timer: unique symbol };

export interface TimerOptions {
  /** Skip a fire while the previous invocation is still queued or running. Default true. */
  readonly squelch?: boolean;
  /** Run on a tagged executor, or inline with `RUN_IN_PROXY`; default the pool (as a batch job). */
  readonly executor?: TaggedExecutor | RunInProxy;
}

interface Timer {
  readonly fn: Work;
  readonly interval: number;
  readonly squelch: boolean;
  readonly executor: TaggedExecutor | RunInProxy | undefined;
  running: boolean;
  handle: NodeJS.Timeout | undefined;
}

/** Periodic jobs (docs/scheduling.md#timers). Timers added before start are armed at start. */
export class Timers {
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;
  private armed = false;

  constructor(
    private readonly dispatch: (executor: TaggedExecutor | undefined, work: Work) => void,
    private readonly log: Log,
  ) {}

  add(fn: Work, interval: number, options: TimerOptions = {}): TimerID {
    const id = this.nextId++ as TimerID;
    const t: Timer = {
      fn,
      interval,
      squelch: options.squelch ?? true,
      executor: options.executor,
      running: false,
      handle: undefined,
    };
    this.timers.set(id, t);
    if (this.armed) this.arm(t);
    return id;
  }

  /** Stops future fires (queued invocations still run); unknown ids are ignored. Frees the closure (unlike C++). */
  cancel(id: TimerID): void {
    const t = this.timers.get(id);
    if (!t) return;
    clearInterval(t.handle);
    this.timers.delete(id);
  }

  start(): void {
    this.armed = true;
    for (const t of this.timers.values()) this.arm(t);
  }

  stop(): void {
    this.armed = false;
    for (const t of this.timers.values()) clearInterval(t.handle);
  }

  private arm(t: Timer): void {
    t.handle = setInterval(() => this.fire(t), t.interval);
  }

  private fire(t: Timer): void {
    if (t.squelch && t.running) return;
    if (isRunInProxy(t.executor)) {
      try {
        runOn(RUN_IN_PROXY.name, t.fn);
      } catch (err) {
        this.log.warn(`timer job (in proxy) raised an exception: ${String(err)}`);
      }
      return;
    }
    t.running = true;
    const done = (): void => void (t.running = false);
    const fail = (err: unknown): void => {
      done();
      // C++ logs exceptions of squelched timers at warn and swallows those of non-squelched ones.
      if (t.squelch) this.log.warn(`timer job raised an exception: ${String(err)}`);
      else this.log.debug(`timer job raised an exception: ${String(err)}`);
    };
    this.dispatch(t.executor, () => {
      try {
        const r = t.fn();
        if (r instanceof Promise) return r.then(done, fail);
        done();
      } catch (err) {
        fail(err);
      }
      return undefined;
    });
  }
}
