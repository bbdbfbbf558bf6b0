import { Session } from "node:inspector/promises";
import { isMainThread, parentPort, Worker } from "node:worker_threads";

/**
 * How many source files one typed request runs through, and how often it crosses from one to another: client call,
 * server dispatch, reply, client result (CURVE over tcp, client and server in this process).
 *
 * Exact, not sampled: a worker thread drives the main thread's inspector. Precise coverage of one warm request lists
 * the functions of the runtime and of the generated code that it runs; a breakpoint on each of them then records,
 * for one more request, every call with its caller's file. A crossing is a call whose caller is in another file of
 * the runtime or of the generated code (calls from node's internals, zeromq.js and the event loop are counted as
 * entries from outside).
 *
 * `node dist/bench/crossings.js`
 */

const OURS = /\/dist\/(runtime|generated)\/|\/runtime\/dist\//;

interface Tally {
  readonly files: Record<string, number>;
  readonly crossings: number;
  readonly fromOutside: number;
  readonly calls: number;
  readonly path: string[];
}

async function main(): Promise<void> {
  // Loaded here, not at the top: the inspector worker runs this file too, and must not load zeromq.
  const { OxenMQ } = await import("@oxenmq-ts/runtime");
  const { registerRpc, RpcClient } = await import("../generated/node.js");
  const server = await OxenMQ.create();
  registerRpc(server, {
    info: () => ({ version: "1", network: "devnet", height: 1, serviceNode: false }),
    headers: () => [],
    echo: (args) => ({ text: args.text }),
    statusJson: () => ({ status: "OK", height: 1 }),
  });
  const endpoint = server.listenCurve("tcp://127.0.0.1:0");
  await server.start();
  const client = await OxenMQ.create();
  await client.start();
  const conn = await client.connectRemote(
    `curve://${(await endpoint).slice("tcp://".length)}/${Buffer.from(server.publicKey).toString("hex")}`,
  );
  const rpc = new RpcClient(client, conn);
  for (let i = 0; i < 500; i++) await rpc.echo({ text: "warm" });

  const worker = new Worker(new URL(import.meta.url));
  worker.on("error", (err) => {
    process.stderr.write(`inspector worker: ${err.stack}\n`);
    process.exit(1);
  });
  const ask = (what: string): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(what);
    });
  await ask("coverage-start");
  await rpc.echo({ text: "hi" });
  await ask("coverage-take");
  await rpc.echo({ text: "hi" });
  const tally = (await ask("tally")) as Tally;
  await worker.terminate();
  await client.close();
  await server.close();

  const entries = Object.entries(tally.files).sort((a, b) => b[1] - a[1]);
  process.stdout.write(
    [
      `one typed request (rpc.echo, CURVE, tcp): ${tally.calls} calls of our functions in ${entries.length} files; ` +
        `${tally.crossings} file crossings, ${tally.fromOutside} entries from node/zeromq/the event loop`,
      "entries into each file (from another of our files or from outside):",
      ...entries.map(([f, n]) => `  ${n}\t${f}`),
      "path (file entered, in order):",
      `  ${tally.path.join(" → ")}`,
      "",
    ].join("\n"),
  );
}

/** The worker: drives the main thread's inspector. */
function inspect(): void {
  const session = new Session();
  session.connectToMainThread();
  const scripts = new Map<string, string>();
  session.on("Debugger.scriptParsed", (m) => scripts.set(m.params.scriptId, m.params.url));
  const ready = (async () => {
    await session.post("Debugger.enable");
    await session.post("Profiler.enable");
  })();
  const shortName = (url: string): string => url.replace(/^.*\/dist\//, "");
  const files: Record<string, number> = {};
  const path: string[] = [];
  let crossings = 0;
  let fromOutside = 0;
  let calls = 0;
  const bpFunctions = new Set<string>();
  session.on("Debugger.paused", (m) => {
    const [top, caller] = m.params.callFrames;
    const urlOf = (f: typeof top): string => (f ? (scripts.get(f.location.scriptId) ?? "") : "");
    if (top && m.params.hitBreakpoints?.some((b) => bpFunctions.has(b))) {
      calls++;
      const file = shortName(urlOf(top));
      const from = caller && OURS.test(urlOf(caller)) ? shortName(urlOf(caller)) : undefined;
      if (from !== file) {
        files[file] = (files[file] ?? 0) + 1;
        path.push(from ? file : `(outside) ${file}`);
        if (from) crossings++;
        else fromOutside++;
      }
    }
    void session.post("Debugger.resume");
  });
  parentPort!.on("message", (what: string) => {
    void (async () => {
      await ready;
      if (what === "coverage-start") {
        await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
        await session.post("Profiler.takePreciseCoverage"); // resets the counts
      } else if (what === "coverage-take") {
        const { result } = await session.post("Profiler.takePreciseCoverage");
        await session.post("Profiler.stopPreciseCoverage");
        for (const script of result) {
          if (!OURS.test(script.url)) continue;
          const { scriptSource } = await session.post("Debugger.getScriptSource", { scriptId: script.scriptId });
          for (const fn of script.functions) {
            const range = fn.ranges[0]!;
            if (range.count === 0 || range.startOffset === 0) continue; // not run, or the module's top level
            const at = bodyStart(scriptSource, range.startOffset, range.endOffset);
            if (at === undefined) continue;
            const { lineNumber, columnNumber } = position(scriptSource, at);
            try {
              const bp = await session.post("Debugger.setBreakpoint", {
                location: { scriptId: script.scriptId, lineNumber, columnNumber },
              });
              const actual = bp.actualLocation;
              const offset = offsetOf(scriptSource, actual.lineNumber, actual.columnNumber ?? 0);
              if (offset >= range.startOffset && offset < range.endOffset) bpFunctions.add(bp.breakpointId);
              else await session.post("Debugger.removeBreakpoint", { breakpointId: bp.breakpointId });
            } catch {
              // not breakable there: the function is left out of the count
            }
          }
        }
      } else if (what === "tally") {
        parentPort!.postMessage({ files, crossings, fromOutside, calls, path } satisfies Tally);
        return;
      }
      parentPort!.postMessage("ok");
    })();
  });
}

/** The offset of the first statement (or expression body) of the function whose source starts at `start`. */
function bodyStart(src: string, start: number, end: number): number | undefined {
  let i = src.indexOf("(", start);
  const arrow = src.indexOf("=>", start);
  if (arrow >= 0 && (i < 0 || arrow < i) && arrow < end)
    i = arrow; // `x => …`
  else {
    if (i < 0 || i >= end) return undefined;
    for (let depth = 0; i < end; i++) {
      if (src[i] === "(") depth++;
      else if (src[i] === ")" && --depth === 0) break;
    }
    i++;
    while (/\s/.test(src[i] ?? "")) i++;
    if (src.startsWith("=>", i)) i += 2;
    else if (src[i] !== "{") return undefined;
  }
  if (src.startsWith("=>", i)) i += 2;
  while (/\s/.test(src[i] ?? "")) i++;
  if (src[i] === "{") i++;
  while (/\s/.test(src[i] ?? "")) i++;
  return i < end ? i : undefined;
}

function position(src: string, offset: number): { lineNumber: number; columnNumber: number } {
  const before = src.slice(0, offset);
  const lineNumber = before.split("\n").length - 1;
  return { lineNumber, columnNumber: offset - (before.lastIndexOf("\n") + 1) };
}

function offsetOf(src: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 0; l < line; l++) offset = src.indexOf("\n", offset) + 1;
  return offset + column;
}

if (isMainThread)
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
else inspect();
