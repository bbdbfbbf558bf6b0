import { afterEach, expect, jest, test } from "@jest/globals";
import { Address, ConnectionID, fromHex, generateKeyPair, OxenMQ, toHex, type LogLevel } from "../runtime/index.js";
import { closeAll, makeOmq } from "./helpers/omq.js";

// Mistakes a new user makes get a clear, immediate error; logging works the way a user would expect.

afterEach(closeAll);

test("a key given as a hex string where bytes are expected says so", async () => {
  const keys = await generateKeyPair();
  const hex = toHex(keys.publicKey);
  const mistakes: Array<() => unknown> = [
    () => ConnectionID.sn(hex as never),
    () => new Address("tcp://127.0.0.1:5555", hex as never),
  ];
  for (const m of mistakes) expect(m).toThrow(`not a string: it looks like hex: pass fromHex("${hex.slice(0, 8)}…")`);
  await expect(OxenMQ.create({ publicKey: hex as never, secretKey: keys.secretKey })).rejects.toMatchObject({
    code: "INVALID_KEY",
    message: expect.stringContaining("publicKey must be a Uint8Array of 32 bytes, not a string"),
  });
  const omq = await makeOmq();
  expect(() => omq.setActiveSNs([hex as never])).toThrow("not a string");
  expect(() => omq.isActiveSN("zz" as never)).toThrow("decode it first (fromHex, fromBase32z or fromBase64)");
  expect(omq.isActiveSN(fromHex(hex))).toBe(false);
});

test("start() after close() says the instance is closed", async () => {
  const omq = await makeOmq();
  await omq.start();
  await omq.close();
  await expect(omq.start()).rejects.toMatchObject({ code: "CLOSED", message: expect.stringContaining("is closed") });
  const fresh = await makeOmq();
  await fresh.close();
  await expect(fresh.start()).rejects.toMatchObject({ code: "CLOSED" });
});

test("the logger may be a function, console, or a pino-style object; a level alone logs to stderr", async () => {
  const lines: string[] = [];
  const pinoLike = {
    fatal: (m: string) => lines.push(`fatal ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
    debug: (m: string) => lines.push(`debug ${m}`),
    trace: (m: string) => lines.push(`trace ${m}`),
  };
  const a = await OxenMQ.create({ logger: pinoLike, logLevel: "info" });
  void a.listenCurve("tcp://127.0.0.1:0");
  await a.start();
  await a.close();
  expect(lines.some((l) => /^info Listening on tcp:\/\/127\.0\.0\.1:\d+ \(curve\)$/.test(l))).toBe(true);
  expect(lines.some((l) => l.startsWith("debug"))).toBe(false);

  const calls: string[] = [];
  const spies = (["error", "warn", "info", "debug", "trace"] as const).map((m) =>
    jest.spyOn(console, m).mockImplementation((msg: unknown) => void calls.push(`${m} ${String(msg)}`)),
  );
  try {
    const b = await OxenMQ.create({ logger: console, logLevel: "trace" });
    b.logLevel = "trace";
    (b as unknown as { logger: { log(l: LogLevel, m: string): void } }).logger.log("trace", "a trace line");
    expect(calls).toContain("debug a trace line"); // console.trace would print a stack: debug is used
  } finally {
    for (const s of spies) s.mockRestore();
  }

  const stderr: string[] = [];
  const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  try {
    const c = await OxenMQ.create({ logLevel: "info" });
    void c.listenPlain("tcp://127.0.0.1:0");
    await c.start();
    await c.close();
  } finally {
    write.mockRestore();
  }
  expect(stderr.some((l) => l.startsWith("[info] Listening on"))).toBe(true);
});
