import { OmqError } from "../base/errors.js";

/**
 * An instance's life (docs/scheduling.md#shutdown-and-faults): after `close()` it is `draining` (no new commands or
 * requests; accepted work finishes and replies), then `closing` (sockets close with their linger), then `closed`.
 */
export type State = "new" | "starting" | "running" | "draining" | "closing" | "closed";

/** The state, and the checks that public calls make against it. */
export class Lifecycle {
  state: State = "new";
  private shutdown: Promise<void> | undefined;

  /**
   * close(): the first call enters `draining` and runs `shutdown` (told whether the instance had started); every
   * call returns the same promise.
   */
  close(shutdown: (wasStarted: boolean) => Promise<void>): Promise<void> {
    if (!this.shutdown) {
      const wasStarted = this.state !== "new";
      this.state = "draining";
      this.shutdown = shutdown(wasStarted);
    }
    return this.shutdown;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.state === "draining" || this.state === "closing" || this.state === "closed";
  }

  /** Handler code may still send: while running, and while close() lets accepted work finish. */
  get sending(): boolean {
    return this.state === "running" || this.state === "draining";
  }

  /** Why `what` cannot run now; with `whileDraining`, it may still run while close() lets work finish. */
  error(what: string, whileDraining = false): OmqError | undefined {
    if (this.state === "running" || (whileDraining && this.state === "draining")) return undefined;
    if (this.closed) return new OmqError("CLOSED", `${what}: the instance is closed`);
    return new OmqError("NOT_STARTED", `${what} requires start() first`);
  }

  requireStarted(what: string, whileDraining = false): void {
    const err = this.error(what, whileDraining);
    if (err) throw err;
  }

  requireNotStarted(what: string): void {
    if (this.state !== "new") throw new OmqError("ALREADY_STARTED", `${what} must be called before start()`);
  }

  requireNotClosed(): void {
    if (this.closed) throw new OmqError("CLOSED", "the instance is closed");
  }
}
