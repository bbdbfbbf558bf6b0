/** Log levels, most severe first (docs/protocol.md#logging). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logging function: called with the level and the message. */
export type LogFunction = (level: LogLevel, message: string) => void;

/**
 * A logger object with a method per level, such as `console` or a pino logger; `fatal` and `trace` may be missing
 * (`error` and `debug` are used instead; console's own `trace` prints a stack, so it is not used).
 */
export interface LogMethods {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  fatal?(message: string): void;
  trace?(message: string): void;
}

/**
 * Where log lines go: a function, or an object like `console` or a pino logger. Nothing is printed without one,
 * unless a `logLevel` is set (then they go to stderr).
 *
 * @example
 * OxenMQ.create({ logger: console, logLevel: "info" });
 * OxenMQ.create({ logger: pino(), logLevel: "debug" });
 * OxenMQ.create({ logger: (level, message) => myLog(level, message) });
 */
export type Logger = LogFunction | LogMethods;

/** The function form of any Logger. */
export function logFunction(logger: Logger): LogFunction {
  if (typeof logger === "function") return logger;
  const o = logger;
  const method = (level: LogLevel): ((m: string) => void) => {
    switch (level) {
      case "fatal":
        return o.fatal ? (m) => o.fatal!(m) : (m) => o.error(m);
      case "trace":
        return o.trace && o !== console ? (m) => o.trace!(m) : (m) => o.debug(m);
      default:
        return (m) => o[level](m);
    }
  };
  const methods = Object.fromEntries(
    (["fatal", "error", "warn", "info", "debug", "trace"] as const).map((l) => [l, method(l)]),
  ) as Record<LogLevel, (m: string) => void>;
  return (level, message) => methods[level](message);
}

const rank: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

/** Prints `[level] message` to stderr: a convenient logger for programs and the CLI. */
export const consoleLogger: LogFunction = (level, message) => {
  process.stderr.write(`[${level}] ${message}\n`);
};

/**
 * Internal log front-end. Messages may be passed lazily as functions so that the per-message path pays nothing
 * for debug/trace lines that are filtered out.
 */
export class Log {
  private sink: LogFunction | undefined;

  constructor(
    logger: Logger | undefined,
    public level: LogLevel = "warn",
  ) {
    this.sink = logger && logFunction(logger);
  }

  get logger(): LogFunction | undefined {
    return this.sink;
  }
  set logger(logger: Logger | undefined) {
    this.sink = logger && logFunction(logger);
  }

  enabled(level: LogLevel): boolean {
    return this.sink !== undefined && rank[level] <= rank[this.level];
  }

  log(level: LogLevel, message: string | (() => string)): void {
    if (!this.enabled(level)) return;
    this.sink!(level, typeof message === "function" ? message() : message);
  }
  error(m: string | (() => string)): void {
    this.log("error", m);
  }
  warn(m: string | (() => string)): void {
    this.log("warn", m);
  }
  info(m: string | (() => string)): void {
    this.log("info", m);
  }
  debug(m: string | (() => string)): void {
    this.log("debug", m);
  }
  trace(m: string | (() => string)): void {
    this.log("trace", m);
  }
}
