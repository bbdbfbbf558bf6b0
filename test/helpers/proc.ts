import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "./omq.js";

export interface ProcEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/** A test server process from dist/test/procs (built by `npm test`), with the JSON events it printed. */
export class Proc {
  readonly events: ProcEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = "";
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(script: string, args: string[] = []) {
    this.child = spawn(process.execPath, [join(process.cwd(), "dist/test/procs", script), ...args]);
    let buffered = "";
    this.child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line) this.events.push(JSON.parse(line) as ProcEvent);
    });
    this.child.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** The first event of this kind that satisfies `pred`, waiting for it up to `timeoutMs`. */
  async next(event: string, pred: (e: ProcEvent) => boolean = () => true, timeoutMs = 20_000): Promise<ProcEvent> {
    let found: ProcEvent | undefined;
    await waitFor(
      () => (found = this.events.find((e) => e.event === event && pred(e))) !== undefined || this.failed(),
      `the server's '${event}' event (stderr: ${this.stderr.slice(0, 500)})`,
      timeoutMs,
    );
    if (!found) throw new Error(`the server failed before '${event}': ${this.stderr.slice(0, 2000)}`);
    return found;
  }

  logs(level?: string): string[] {
    return this.events
      .filter((e) => e.event === "log" && (level === undefined || e.level === level))
      .map((e) => String(e.message));
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.child.kill(signal);
  }

  private failed(): boolean {
    return this.child.exitCode !== null || this.events.some((e) => e.event === "error");
  }
}
