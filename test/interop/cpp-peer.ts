import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

/** A line the C++ peer printed for one of its handlers: `GOT <command> <pubkey|-> <auth> <sn> [hex…]`. */
export interface Got {
  readonly command: string;
  readonly pubkey: string;
  readonly auth: string;
  readonly sn: boolean;
  readonly data: Buffer[];
}

const hex = (b: Buffer | string): string => {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  return buf.length ? buf.toString("hex") : "-";
};
const unhex = (s: string): Buffer => (s === "-" ? Buffer.alloc(0) : Buffer.from(s, "hex"));

/**
 * Drives test/interop/peer.cpp (a C++ OxenMQ 1.2.16 program) over its stdin/stdout line protocol: what it receives,
 * the levels its allow() gave, and its own log lines are all recorded.
 */
export class CppPeer {
  readonly got: Got[] = [];
  readonly allows: string[][] = [];
  readonly logs: string[] = [];
  pubkey = "";
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<string, (words: string[]) => void>();
  private nextRid = 1;
  private readyWaiter: (() => void) | undefined;
  private exited = false;

  private constructor(binary: string, secretHex: string, serviceNode: boolean) {
    this.proc = spawn(binary, [secretHex, ...(serviceNode ? ["sn"] : [])], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.on("exit", () => (this.exited = true));
    this.proc.stderr.on("data", (d: Buffer) => this.logs.push(`stderr: ${d.toString()}`));
    createInterface({ input: this.proc.stdout }).on("line", (line) => this.onLine(line));
  }

  static async start(binary: string, options: { secretHex?: string; serviceNode?: boolean } = {}): Promise<CppPeer> {
    const p = new CppPeer(binary, options.secretHex ?? "-", options.serviceNode ?? false);
    const deadline = Date.now() + 10_000;
    while (!p.pubkey) {
      if (Date.now() > deadline || p.exited) throw new Error(`C++ peer did not start: ${p.logs.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return p;
  }

  private onLine(line: string): void {
    const words = line.split(" ");
    const [first, second] = words;
    if (first === "PUBKEY") this.pubkey = second!;
    else if (first === "READY") this.readyWaiter?.();
    else if (first === "GOT")
      this.got.push({
        command: words[1]!,
        pubkey: words[2]!,
        auth: words[3]!,
        sn: words[4] === "1",
        data: words.slice(5).map(unhex),
      });
    else if (first === "ALLOW") this.allows.push(words.slice(1));
    else if (first === "LOG") this.logs.push(`${second}: ${unhex(words[2] ?? "-").toString()}`);
    else if (first === "ERROR") this.logs.push(line);
    else {
      const w = this.waiting.get(first!);
      if (w) {
        this.waiting.delete(first!);
        w(words.slice(1));
      }
    }
  }

  private write(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  private call(make: (rid: string) => string, timeoutMs = 10_000): Promise<string[]> {
    const rid = `r${this.nextRid++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new Error(`C++ peer: no answer to ${make(rid)}\n${this.logs.slice(-20).join("\n")}`));
      }, timeoutMs);
      this.waiting.set(rid, (words) => {
        clearTimeout(timer);
        resolve(words);
      });
      this.write(make(rid));
    });
  }

  listen(kind: "curve" | "plain", bind: string, allow: string): void {
    this.write(`listen ${kind} ${bind} ${allow}`);
  }
  ephemeralRoutingId(on: boolean): void {
    this.write(`ephemeral ${on ? 1 : 0}`);
  }
  lookup(pubkeyHex: string, address: string): void {
    this.write(`lookup ${pubkeyHex} ${address}`);
  }
  setActiveSNs(pubkeysHex: string[]): void {
    this.write(`sns ${pubkeysHex.length ? pubkeysHex.join(",") : "-"}`);
  }
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.readyWaiter = resolve;
      this.write("start");
    });
  }

  /** connect_remote: resolves with the connection's number, or rejects with the failure reason. */
  async connect(address: string): Promise<string> {
    const [what, arg] = await this.call((rid) => `connect ${rid} ${address}`, 15_000);
    if (what !== "CONNECTED") throw new Error(`connect failed: ${unhex(arg ?? "-").toString()}`);
    return arg!;
  }

  async connectSN(pubkeyHex: string, hint?: string): Promise<void> {
    await this.call((rid) => `connect_sn ${rid} ${pubkeyHex} ${hint ?? "-"}`);
  }

  /** request: `to` is a connection number, `sn:<pubkey hex>` or `last`. */
  async request(
    to: string,
    command: string,
    data: Array<Buffer | string> = [],
    timeoutMs = 5000,
  ): Promise<{ ok: boolean; data: Buffer[] }> {
    const words = await this.call(
      (rid) => `request ${rid} ${to} ${timeoutMs} ${command}${data.map((d) => ` ${hex(d)}`).join("")}`,
      timeoutMs + 5000,
    );
    return { ok: words[1] === "1", data: words.slice(2).map(unhex) };
  }

  async send(to: string, command: string, data: Array<Buffer | string> = []): Promise<void> {
    await this.call((rid) => `send ${rid} ${to} ${command}${data.map((d) => ` ${hex(d)}`).join("")}`);
  }

  /** `count` requests of `command` with one data part, `inflight` at a time, timed by the C++ peer itself. */
  async bench(
    to: string,
    command: string,
    payload: Buffer,
    count: number,
    inflight: number,
  ): Promise<{ ok: number; failed: number; seconds: number }> {
    const words = await this.call(
      (rid) => `bench ${rid} ${to} ${count} ${inflight} ${command} ${hex(payload)}`,
      60_000 + count,
    );
    return { ok: Number(words[1]), failed: Number(words[2]), seconds: Number(words[3]) / 1e6 };
  }

  /** OxenMQ's log level: 0 fatal … 4 debug (the default here), 5 trace. */
  logLevel(level: number): void {
    this.write(`loglevel ${level}`);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.proc.once("exit", r));
    this.write("quit");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await done;
    clearTimeout(timer);
  }
}

/** A TCP port the OS says is free now (C++ OxenMQ cannot report the port it bound, so it gets one chosen for it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
