import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { OmqError } from "../base/errors.js";
import type { Log } from "../base/log.js";

/** A CPU-bound job for the worker_threads pool: an exported function of a JavaScript module, with clonable args. */
export interface WorkerJobSpec {
  /** Absolute path or file: URL of an ES or CommonJS module (JavaScript: workers do not load TypeScript). */
  readonly module: string | URL;
  readonly exportName: string;
  /** Structured-clonable arguments; the result must be structured-clonable too. */
  readonly args?: readonly unknown[];
}

// Plain CommonJS so that it runs the same under jest (TypeScript sources) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const modules = new Map();
parentPort.on("message", async ({ id, module, exportName, args }) => {
  try {
    let m = modules.get(module);
    if (!m) { m = await import(module); modules.set(module, m); }
    const fn = m[exportName] ?? (m.default && m.default[exportName]);
    if (typeof fn !== "function") throw new TypeError(module + " has no exported function '" + exportName + "'");
    const value = await fn(...args);
    parentPort.postMessage({ id, ok: true, value });
  } catch (err) {
    const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { name: "Error", message: String(err) };
    parentPort.postMessage({ id, ok: false, error: e });
  }
});`;

interface Task {
  readonly id: number;
  readonly module: string;
  readonly exportName: string;
  readonly args: readonly unknown[];
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  task: Task | undefined;
}

/** Rebuilds an error thrown in a worker; its name, message and stack survive the thread boundary. */
function revive(e: { name: string; message: string; stack?: string }): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/** A fixed-size pool of worker threads, started lazily; each thread runs one job at a time. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly log: Log,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new OmqError("INVALID_ARGUMENT", `workerThreads must be >= 1, got ${size}`);
  }

  run(spec: WorkerJobSpec): Promise<unknown> {
    if (this.closed) return Promise.reject(new OmqError("CLOSED", "the worker pool is closed"));
    const module =
      spec.module instanceof URL
        ? spec.module.href
        : isAbsolute(spec.module)
          ? pathToFileURL(spec.module).href
          : spec.module;
    if (!module.startsWith("file:"))
      return Promise.reject(
        new OmqError("INVALID_ARGUMENT", `worker job module must be an absolute path or file: URL, got '${module}'`),
      );
    return new Promise((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        module,
        exportName: spec.exportName,
        args: spec.args ?? [],
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /** Terminates every thread; queued and running jobs fail with CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new OmqError("CLOSED", "the worker pool was closed");
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) s.task?.reject(err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, module: task.module, exportName: task.exportName, args: task.args });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, task: undefined };
    worker.on(
      "message",
      (m: { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string; stack?: string } }) => {
        const task = slot.task;
        if (!task || task.id !== m.id) return;
        slot.task = undefined;
        worker.unref();
        if (m.ok) task.resolve(m.value);
        else task.reject(revive(m.error!));
        this.pump();
      },
    );
    const lost = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      this.log.warn(`worker thread lost: ${why}`);
      slot.task?.reject(new OmqError("SEND_FAILED", `worker thread lost: ${why}`));
      if (!this.closed) this.pump();
    };
    worker.on("error", (err) => lost(err.message));
    worker.on("exit", (code) => lost(`exit code ${code}`));
    this.slots.push(slot);
    return slot;
  }
}
