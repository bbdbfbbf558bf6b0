import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { codegenBench } from "./codegen.js";
import { cppBench } from "./cpp.js";
import { networkBench } from "./network.js";
import { requestsBench } from "./requests/run.js";
import { schedulerBench } from "./scheduler.js";

/**
 * `npm run bench`: every benchmark, each side by side with its baseline in the same run; writes bench/results.md.
 * `--only requests|scheduler|codegen|network|cpp` runs one; `--quick` shortens the request benchmark (no results
 * file). A focused request run: `--only requests --impls typed/curve,moleculer/plain --inflight 1 --sizes 100
 * --rounds 20` (raw of each transport is added; no targets, no results file). The C++ section builds C++ OxenMQ and its test peer as the interop suite does (or uses `OMQ_PEER`), and says
 * why it was skipped when it cannot.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      impls: { type: "string" },
      inflight: { type: "string" },
      sizes: { type: "string" },
      rounds: { type: "string" },
    },
  });
  const list = (s: string | undefined): string[] | undefined => s?.split(",").filter(Boolean);
  const numbers = (s: string | undefined): number[] | undefined => list(s)?.map(Number);
  const focus =
    values.impls || values.inflight || values.sizes
      ? { pairs: list(values.impls), inflight: numbers(values.inflight), sizes: numbers(values.sizes) }
      : undefined;
  const want = (name: string): boolean => !values.only || values.only === name;
  const header = `## Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores)`;
  const sections: string[] = [];
  if (want("requests"))
    sections.push(
      await requestsBench(
        values.quick
          ? { durationMs: 400, repeats: Number(values.rounds ?? 2), rssRequests: 100_000, only: focus }
          : { durationMs: 600, repeats: Number(values.rounds ?? 10), rssRequests: 1_000_000, only: focus },
      ),
    );
  if (want("scheduler")) sections.push(await schedulerBench());
  if (want("codegen")) sections.push(codegenBench());
  if (want("network")) sections.push(await networkBench());
  if (want("cpp")) {
    const peer = process.env.OMQ_PEER ?? buildPeer();
    sections.push(
      peer.startsWith("/") ? await cppBench(peer) : `### C++ OxenMQ client → our server\n\nSkipped: ${peer}`,
    );
  }
  const text = [header, ...sections, ""].join("\n\n");
  process.stdout.write(text);
  if (!values.only && !values.quick && !focus) writeFileSync(new URL("../../bench/results.md", import.meta.url), text);
}

/** The C++ test peer's path (built by test/interop/build.sh, as for the interop suite), or why there is none. */
function buildPeer(): string {
  const r = spawnSync("bash", [new URL("../../test/interop/build.sh", import.meta.url).pathname], { encoding: "utf8" });
  const lines = `${r.stdout}`.trim().split("\n");
  return r.status === 0 ? lines.at(-1)! : `the C++ peer could not be built: ${`${r.stderr}`.trim().split("\n").at(-1)}`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
