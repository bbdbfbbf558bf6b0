import { OmqError } from "../base/errors.js";

/** A unit of work: it holds its slot until the value it returns (or the promise it returns) settles. */
export type Work = () => unknown;

/**
 * A tagged executor (C++ tagged thread): a named serial queue that runs one job at a time in FIFO order, apart from
 * the slot pool. Created with `OxenMQ.addTaggedThread` before start; its start callback runs on it at start.
 */
export class TaggedExecutor {
  /** @internal */ readonly queue: Work[] = [];
  /** @internal */ busy = false;

  /** @internal */
  constructor(
    readonly id: number,
    readonly name: string,
    /** @internal */ readonly onStart: Work | undefined,
  ) {
    if (name.length === 0 || name === PROXY || name.includes("\0"))
      throw new OmqError(
        "INVALID_ARGUMENT",
        `Invalid tagged thread name '${name}': must be non-empty, not '_proxy', no NUL`,
      );
  }
}

const PROXY = "_proxy";

/** Target for work that must run inline in the "proxy" (the event loop turn that triggered it). Keep such work trivial. */
export const RUN_IN_PROXY = Object.freeze({ id: -1, name: PROXY } as const);
export type RunInProxy = typeof RUN_IN_PROXY;

export function isRunInProxy(x: unknown): x is RunInProxy {
  return x === RUN_IN_PROXY;
}

/** The name of the pool executor, as reported by `currentExecutor()`. */
export const POOL = "pool";

let current: string | undefined;

/**
 * Which executor runs the calling code: "pool" (a scheduler slot), a tagged executor's name, "_proxy" (inline), or
 * undefined outside any scheduled work. Valid in the synchronous part of a job (before its first await): tracking it
 * across awaits would need AsyncLocalStorage, whose promise hooks slow down every promise in the process (measured in
 * bench/requests), so we do not.
 */
export function currentExecutor(): string | undefined {
  return current;
}

/** @internal runs `work` as code of executor `name`. */
export function runOn(name: string, work: Work): unknown {
  const previous = current;
  current = name;
  try {
    return work();
  } finally {
    current = previous;
  }
}
