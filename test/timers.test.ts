import { afterEach, expect, test } from "@jest/globals";
import { currentExecutor, RUN_IN_PROXY, type TimerID } from "../runtime/index.js";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

afterEach(closeAll);

test("timers tick on the pool, on a tagged executor and inline; added before start", async () => {
  const omq = await makeOmq();
  const t = omq.addTaggedThread("ticker");
  const where = { pool: 0, tagged: 0, proxy: 0 };
  omq.addTimer(() => void (currentExecutor() === "pool" && where.pool++), 10);
  omq.addTimer(() => void (currentExecutor() === "ticker" && where.tagged++), 10, { executor: t });
  omq.addTimer(() => void (currentExecutor() === "_proxy" && where.proxy++), 10, { executor: RUN_IN_PROXY });
  await new Promise((r) => setTimeout(r, 50));
  expect(where).toEqual({ pool: 0, tagged: 0, proxy: 0 }); // not before start
  await omq.start();
  await waitFor(() => where.pool >= 3 && where.tagged >= 3 && where.proxy >= 3, "ticks everywhere");
});

test("squelch skips fires while a slow invocation runs; non-squelch does not", async () => {
  const omq = await makeOmq();
  await omq.start();
  const runs = { squelched: 0, plain: 0 };
  let concurrentPlain = 0;
  let peakPlain = 0;
  const slow = (key: "squelched" | "plain") => async () => {
    runs[key]++;
    if (key === "plain") peakPlain = Math.max(peakPlain, ++concurrentPlain);
    await new Promise((r) => setTimeout(r, 100));
    if (key === "plain") concurrentPlain--;
  };
  const a = omq.addTimer(slow("squelched"), 10);
  const b = omq.addTimer(slow("plain"), 10, { squelch: false });
  await waitFor(() => runs.plain >= 8, "plain timer fires during slow runs");
  omq.cancelTimer(a);
  omq.cancelTimer(b);
  expect(runs.squelched).toBeLessThanOrEqual(2);
  expect(peakPlain).toBeGreaterThan(1);
});

test("cancel before start; a timer that cancels itself after exactly N ticks", async () => {
  const omq = await makeOmq();
  let cancelled = 0;
  const early = omq.addTimer(() => void cancelled++, 5);
  omq.cancelTimer(early);
  omq.cancelTimer(12345 as TimerID); // unknown ids are a no-op
  let ticks = 0;
  const id: TimerID = omq.addTimer(() => {
    if (++ticks === 5) omq.cancelTimer(id);
  }, 5);
  await omq.start();
  await waitFor(() => ticks === 5, "five ticks");
  let done = false;
  omq.addTimer(() => void (done = true), 40);
  await waitFor(() => done, "a later timer (time for extra ticks to show)");
  expect(ticks).toBe(5);
  expect(cancelled).toBe(0);
});

test("timer exceptions are logged, the timer keeps going", async () => {
  const omq = await makeOmq();
  let n = 0;
  omq.addTimer(() => {
    n++;
    throw new Error("tick failure");
  }, 5);
  await omq.start();
  await waitFor(() => n >= 3, "three failing ticks");
  expect(omq.logs.some((l) => l.level === "warn" && l.message.includes("tick failure"))).toBe(true);
});
