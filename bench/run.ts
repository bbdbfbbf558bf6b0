import { availableParallelism } from "node:os";
import { codegenBench } from "./codegen.js";
import { networkBench } from "./network.js";
import { schedulerBench } from "./scheduler.js";

/** `npm run bench`: every benchmark, side by side with its baseline in the same process run. */
async function main(): Promise<void> {
  const header = `## Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores)`;
  const sections = [await schedulerBench(), codegenBench(), await networkBench()];
  process.stdout.write([header, ...sections, ""].join("\n\n"));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
