/** Log levels, most severe first (docs/protocol.md#logging). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger callback. Nothing is printed unless the user installs one (quiet by default). */
export type Logger = (level: LogLevel, message: string) => void;

const rank: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

/** Prints `[level] message` to stderr: a convenient logger for programs and the CLI. */
export const consoleLogger: Logger = (level, message) => {
  process.stderr.write(`[${level}] ${message}\n`);
};

/**
 * Internal log front-end. Messages may be passed lazily as functions so that the per-message path pays nothing
 * for debug/trace lines that are filtered out.
 */
export class Log {
  constructor(
    public logger: Logger | undefined,
    public level: LogLevel = "warn",
  ) {}

  enabled(level: LogLevel): boolean {
    return this.logger !== undefined && rank[level] <= rank[this.level];
  }

  log(level: LogLevel, message: string | (() => string)): void {
    if (!this.enabled(level)) return;
    this.logger!(level, typeof message === "function" ? message() : message);
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
