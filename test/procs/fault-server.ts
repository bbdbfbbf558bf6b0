/**
 * A server process for the shutdown and fault tests (test/faults.test.ts): it runs from the build (dist/test/procs),
 * prints JSON events on stdout, and takes commands on stdin. It never calls process.exit: once closed, it must exit
 * by itself, which shows that a closed instance leaves nothing keeping Node alive.
 *
 * Commands it serves (plain TCP, level none):
 * - `t.hang`: a request it never answers (the reply is owed through `later()`).
 * - `t.later <ms>`: answered from a timer after `ms` (`m.later()`).
 * - `t.async <ms>`: an async handler that answers after `ms`.
 * - `typed.wait <ms>` (typed, status-first): answered with `ms` after `ms` through `ctx.later()`.
 * Every handler reports `{"event":"inflight","n":…}` when it starts.
 *
 * stdin: `close <timeoutMs>` closes the instance and reports `closing` and `closed` (with the time it took).
 *
 * Argument: the endpoint to listen on (default `tcp://127.0.0.1:0`; a restart passes the first run's endpoint).
 * Handlers run on 150 worker slots, so that the ones that wait (`t.async`) do not queue the others.
 */
import { createInterface } from "node:readline";
import { OxenMQ, type LogLevel } from "@oxenmq-ts/runtime";
import { codec, registerCategory, type CategoryDescriptor, type RequestContext } from "@oxenmq-ts/runtime/codegen";

const emit = (event: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`);
};

const omq = await OxenMQ.create({
  logger: (level: LogLevel, message: string) => emit("log", { level, message }),
  logLevel: "info",
  generalThreads: 150,
});
let inflight = 0;
const started = (): void => emit("inflight", { n: ++inflight });
const ms = (frame: Buffer | undefined): number => Number(frame?.toString() ?? "0");

omq
  .addCategory("t", "none", { maxQueue: -1 })
  .addRequestCommand("hang", (m) => {
    started();
    m.later();
  })
  .addRequestCommand("later", (m) => {
    started();
    const reply = m.later();
    setTimeout(() => {
      reply.reply("later", m.data[0] ?? "");
      emit("replied", { how: "later" });
    }, ms(m.data[0]));
  })
  .addRequestCommand("async", async (m) => {
    started();
    await new Promise((r) => setTimeout(r, ms(m.data[0])));
    m.reply("async", m.data[0] ?? "");
  });

const typed: CategoryDescriptor = {
  name: "typed",
  access: { auth: "none", remoteSN: false, localSN: false },
  reservedThreads: 0,
  maxQueue: -1,
  commands: [
    {
      category: "typed",
      name: "wait",
      fullName: "typed.wait",
      method: "wait",
      request: true,
      encoding: "bt",
      args: codec.int,
      result: codec.int,
      aliases: [],
    },
  ],
};
registerCategory(omq, typed, {
  wait(delay: number, ctx: RequestContext<number>) {
    started();
    const d = ctx.later();
    setTimeout(() => d.resolve(delay), delay);
    return d;
  },
});

const endpoint = omq.listenPlain(process.argv[2] ?? "tcp://127.0.0.1:0").catch((err: unknown) => {
  emit("error", { message: String(err) });
  throw err;
});
await omq.start();
emit("ready", { endpoint: await endpoint });

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd !== "close") return;
  input.close();
  process.stdin.unref();
  const t0 = performance.now();
  emit("closing");
  omq.close({ timeout: Number(arg) }).then(
    () => emit("closed", { ms: Math.round(performance.now() - t0) }),
    (err: unknown) => emit("error", { message: String(err) }),
  );
});
