import { OxenMQ, type OxenMQOptions, type LogLevel } from "../../runtime/index.js";

export interface LogLine {
  level: LogLevel;
  message: string;
}

/** An instance that records its log lines (at debug), closed by `closeAll`. */
export async function makeOmq(options: OxenMQOptions = {}): Promise<OxenMQ & { logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const omq = await OxenMQ.create({
    logger: (level, message) => logs.push({ level, message }),
    logLevel: "debug",
    closeLinger: 0,
    ...options,
  });
  created.push(omq);
  return Object.assign(omq, { logs });
}

const created: OxenMQ[] = [];

export async function closeAll(): Promise<void> {
  await Promise.all(created.splice(0).map((o) => o.close({ timeout: 1000 })));
}

/** Polls `cond` until it holds or the deadline passes (no fixed sleeps in tests). */
export async function waitFor(
  cond: () => boolean,
  what = "condition",
  timeoutMs = 5000,
  step: () => Promise<void> | void = () => new Promise((r) => setTimeout(r, 5)),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await step();
    if (!cond()) await new Promise((r) => setTimeout(r, 5));
  }
}

export const text = (frames: Buffer[]): string[] => frames.map((f) => f.toString());
