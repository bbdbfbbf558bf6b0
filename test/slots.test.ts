import { afterEach, expect, test } from "@jest/globals";
import { closeAll, makeOmq, waitFor } from "./helpers/omq.js";

afterEach(closeAll);

/** Work items that hold their slot until released, counting how many run at once. */
function holders() {
  const waiting: Array<() => void> = [];
  const state = { running: 0, peak: 0, started: 0 };
  const hold = (): Promise<void> => {
    state.running++;
    state.started++;
    state.peak = Math.max(state.peak, state.running);
    return new Promise<void>((r) =>
      waiting.push(() => {
        state.running--;
        r();
      }),
    );
  };
  return {
    state,
    hold,
    releaseOne: () => waiting.shift()?.(),
    get held() {
      return waiting.length;
    },
  };
}

test("docs/scheduling.md#examples over the network: BBBAAA reaches 5 handlers at once, the 6th waits", async () => {
  const server = await makeOmq({ generalThreads: 4, batchThreads: 0, replyThreads: 0 });
  const h = holders();
  server.addCategory("A", "none", { reservedThreads: 2 }).addCommand("x", h.hold);
  server.addCategory("B", "none").addCommand("x", h.hold);
  const ep = server.listenPlain("tcp://127.0.0.1:0");
  await server.start();
  const client = await makeOmq();
  await client.start();
  const c = await client.connectRemote(await ep);
  for (const cat of "BBBAAA") client.send(c, `${cat}.x`);
  await waitFor(() => h.state.started === 5, "five running");
  await new Promise((r) => setImmediate(r));
  expect(h.state.peak).toBe(5);
  h.releaseOne(); // a B: 4 still active = general, and A's 2 reserved slots are busy, so the A stays queued
  await new Promise((r) => setTimeout(r, 20));
  expect(h.state.started).toBe(5);
  h.releaseOne(); // another B: 3 active < general
  await waitFor(() => h.state.started === 6, "queued A runs once a general slot frees");
  while (h.held) h.releaseOne();
});

test("docs/scheduling.md#examples: injected tasks share the category's reserved slots and queue", async () => {
  const server = await makeOmq({ generalThreads: 1, batchThreads: 1, replyThreads: 1 });
  const h = holders();
  server.addCategory("public", "none", { reservedThreads: 3 }).addCommand("hello", h.hold);
  await server.start();
  const self = await server.connectInproc();
  for (let i = 0; i < 4; i++) server.send(self, "public.hello");
  await waitFor(() => h.state.started === 3, "three hellos run");
  await new Promise((r) => setTimeout(r, 20));
  expect(h.state.running).toBe(3); // the 4th is queued: reserved 3 used, general 1 taken by... none: active 3 >= 1
  h.releaseOne();
  h.releaseOne();
  await waitFor(() => h.state.running === 2, "queued hello ran");
  h.releaseOne(); // one hello running now
  await waitFor(() => h.state.running === 1, "one running");
  const injected = holders();
  server.injectTask("public", "task", "test", injected.hold); // 2 running
  server.send(self, "public.hello"); // 3 running
  await waitFor(() => h.state.running === 2 && injected.state.running === 1, "3 running");
  for (let i = 0; i < 3; i++) server.injectTask("public", "task", "test", injected.hold);
  await new Promise((r) => setTimeout(r, 20));
  expect(injected.state.started).toBe(1); // three injected tasks are queued
  h.releaseOne();
  await waitFor(() => injected.state.started === 2, "a queued injected task runs once a slot frees");
  while (h.held) h.releaseOne();
  while (injected.held) injected.releaseOne();
  await waitFor(() => injected.state.started === 4, "all injected tasks ran");
  expect(() => server.injectTask("nope", "x", "y", () => {})).toThrow(/unknown category/);
});

test("max_queue overflow: the dropped request gets no reply at all, and a warning is logged", async () => {
  const server = await makeOmq({ generalThreads: 1, batchThreads: 0, replyThreads: 0 });
  const h = holders();
  server.addCategory("q", "none", { maxQueue: 1 }).addRequestCommand("r", async (m) => {
    await h.hold();
    m.reply("done");
  });
  const ep = server.listenPlain("tcp://127.0.0.1:0");
  await server.start();
  const client = await makeOmq();
  await client.start();
  const c = await client.connectRemote(await ep);
  const first = client.request(c, "q.r");
  await waitFor(() => h.state.started === 1, "first running");
  const second = client.request(c, "q.r"); // queued
  const third = client.request(c, "q.r", [], { timeout: 300 }); // dropped
  await expect(third).rejects.toMatchObject({ code: "TIMEOUT" });
  expect(server.logs.some((l) => l.level === "warn" && l.message.includes("queue is full"))).toBe(true);
  h.releaseOne();
  await waitFor(() => h.state.started === 2, "queued request runs");
  h.releaseOne();
  expect((await first).map(String)).toEqual(["done"]);
  expect((await second).map(String)).toEqual(["done"]);
});
