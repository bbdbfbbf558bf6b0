import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { codegenBench } from "./codegen.js";
import { networkBench } from "./network.js";
import { requestsBench } from "./requests/run.js";
import { schedulerBench } from "./scheduler.js";

/**
 * `npm run bench`: every benchmark, each side by side with its baseline in the same run; writes bench/results.md.
 * `--only requests|scheduler|codegen|network` runs one; `--quick` shortens the request benchmark (no results file).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" }, quick: { type: "boolean", default: false } } });
  const want = (name: string): boolean => !values.only || values.only === name;
  const header = `## Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores)`;
  const sections: string[] = [];
  if (want("requests"))
    sections.push(
      await requestsBench(
        values.quick
          ? { durationMs: 400, repeats: 2, rssRequests: 100_000 }
          : { durationMs: 600, repeats: 10, rssRequests: 1_000_000 },
      ),
    );
  if (want("scheduler")) sections.push(await schedulerBench());
  if (want("codegen")) sections.push(codegenBench());
  if (want("network")) sections.push(await networkBench());
  const text = [header, ...sections, ""].join("\n\n");
  process.stdout.write(text);
  if (!values.only && !values.quick) writeFileSync(new URL("../../bench/results.md", import.meta.url), text);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
