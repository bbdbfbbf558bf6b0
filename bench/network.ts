import { availableParallelism } from "node:os";
import { runVoteRound } from "../examples/network.js";

/** Round time of the N-node vote example (every node asks every other node by key, over CURVE, separate processes). */
export async function networkBench(sizes: readonly number[] = [10, 25, 50]): Promise<string> {
  const rows: string[] = [];
  for (const n of sizes) {
    const r = await runVoteRound(n);
    rows.push(
      `| ${n} | ${r.ok} / ${r.total} | ${r.roundMs.toFixed(0)} ms | ${((r.total / r.roundMs) * 1000).toFixed(0)} |`,
    );
  }
  return [
    `### Service-node vote round (${availableParallelism()} cores; one process per node, loopback, CURVE; includes connecting)`,
    "",
    "| nodes | votes answered | round time | requests/s |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}
