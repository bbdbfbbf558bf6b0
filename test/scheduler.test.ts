import { expect, test } from "@jest/globals";
import { CommandRegistry } from "../runtime/rpc/commands.js";
import { Log } from "../runtime/base/log.js";
import { Scheduler } from "../runtime/dispatch/scheduler.js";

/** Handlers that hold their slot until released; records the peak of concurrently running work. */
function harness(general: number) {
  const logs: string[] = [];
  const log = new Log((_l, m) => logs.push(m), "warn");
  const reg = new CommandRegistry();
  const A = reg.addCategory("A", "none", { reservedThreads: 2 });
  const B = reg.addCategory("B", "none", { reservedThreads: 0 });
  const s = new Scheduler({ generalThreads: general, batchThreads: 0, replyThreads: 0 }, log);
  s.configure(reg.categories.values());
  let running = 0;
  let peak = 0;
  const releases: Array<() => void> = [];
  const hold = () =>
    new Promise<void>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      releases.push(() => {
        running--;
        resolve();
      });
    });
  const cats = { A, B };
  return {
    s,
    logs,
    submit: (order: string) => [...order].map((c) => s.submitCommand(cats[c as "A" | "B"], hold, c)),
    peak: () => peak,
    releaseAll: async () => {
      while (releases.length) {
        releases.shift()!();
        await Promise.resolve();
        await new Promise((r) => setImmediate(r));
      }
    },
    cats,
  };
}

// Reference §3.7: A reserves 2, B reserves 0, general 4, all jobs long-running.
test.each([
  ["AABBBB", 4],
  ["AABBAA", 4],
  ["BBBAAA", 5],
  ["BBBBBBAAA", 6],
])("%s runs at most %i at once, and every job eventually runs", async (order, expected) => {
  const h = harness(4);
  const outcomes = h.submit(order);
  expect(h.peak()).toBe(expected);
  expect(outcomes.filter((o) => o === "queued")).toHaveLength(order.length - expected);
  await h.releaseAll();
  expect(h.s.active).toBe(0);
  expect(h.cats.A.queued + h.cats.B.queued).toBe(0);
});

test("max_queue: 0 never queues, a full queue drops with a warning", () => {
  const warnings: string[] = [];
  const log = new Log((level, m) => level === "warn" && warnings.push(m), "warn");
  const reg = new CommandRegistry();
  const never = reg.addCategory("never", "none", { maxQueue: 0 });
  const two = reg.addCategory("two", "none", { maxQueue: 2 });
  const s = new Scheduler({ generalThreads: 1, batchThreads: 0, replyThreads: 0 }, log);
  s.configure(reg.categories.values());
  const forever = () => new Promise<void>(() => {});
  expect(s.submitCommand(two, forever, "t1")).toBe("started");
  expect(s.submitCommand(never, forever, "n1")).toBe("dropped");
  expect(s.submitCommand(two, forever, "t2")).toBe("queued");
  expect(s.submitCommand(two, forever, "t3")).toBe("queued");
  expect(s.submitCommand(two, forever, "t4")).toBe("dropped");
  expect(warnings).toHaveLength(2);
  expect(warnings[1]).toMatch(/category 'two' queue is full/);
});

test("queued work runs before new arrivals, batch jobs before reply jobs before commands", async () => {
  const log = new Log(undefined);
  const reg = new CommandRegistry();
  const c = reg.addCategory("c", "none");
  const s = new Scheduler({ generalThreads: 1, batchThreads: 0, replyThreads: 0 }, log);
  s.configure(reg.categories.values());
  const order: string[] = [];
  let release: () => void = () => {};
  s.submitCommand(c, () => new Promise<void>((r) => (release = r)), "first");
  s.submitCommand(c, () => void order.push("command"), "queued");
  s.submitJob("reply", () => void order.push("reply"));
  s.submitJob("batch", () => void order.push("batch"));
  expect(order).toEqual([]);
  release();
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual(["batch", "reply", "command"]);
});
