import { generateKeyPair, OxenMQ, toHex } from "@oxenmq-ts/runtime";
import { CppPeer, freePort } from "../test/interop/cpp-peer.js";

/**
 * A C++ OxenMQ 1.2.16 client (test/interop/peer.cpp, its `bench` command) against our server and, as the baseline
 * in the same rounds, against a C++ OxenMQ server: CURVE, `public.echo` of 100 B, 1 and 64 in flight. The ratio is
 * taken per round. `peer` is the binary test/interop/build.sh prints.
 */
export async function cppBench(peer: string, rounds = 5): Promise<string> {
  const payload = Buffer.alloc(100, "x");
  const ours = await OxenMQ.create({ logLevel: "warn" });
  ours.addCategory("public", "none").addRequestCommand("echo", (m) => m.reply(...m.data));
  const ourEp = ours.listenCurve("tcp://127.0.0.1:0");
  await ours.start();
  const server = await CppPeer.start(peer);
  server.logLevel(2);
  const port = await freePort();
  server.listen("curve", `tcp://127.0.0.1:${port}`, "*=none");
  await server.start();
  const client = await CppPeer.start(peer, { secretHex: toHex((await generateKeyPair()).secretKey) });
  client.logLevel(2);
  await client.start();
  const targets = {
    ours: await client.connect(`curve://${(await ourEp).slice("tcp://".length)}/${toHex(ours.publicKey)}`),
    cpp: await client.connect(`curve://127.0.0.1:${port}/${server.pubkey}`),
  };
  const rows: string[] = [];
  for (const [inflight, count] of [
    [1, 5_000],
    [64, 50_000],
  ] as const) {
    await client.bench(targets.ours, "public.echo", payload, count / 5, inflight); // warm-up
    await client.bench(targets.cpp, "public.echo", payload, count / 5, inflight);
    const rps: Record<"ours" | "cpp", number[]> = { ours: [], cpp: [] };
    for (let r = 0; r < rounds; r++)
      for (const which of r % 2 ? (["cpp", "ours"] as const) : (["ours", "cpp"] as const)) {
        const b = await client.bench(targets[which], "public.echo", payload, count, inflight);
        if (b.failed) throw new Error(`${b.failed} of ${count} C++ requests to ${which} failed`);
        rps[which].push(count / b.seconds);
      }
    const ratio = median(rps.ours.map((o, i) => o / rps.cpp[i]!));
    rows.push(`| ${inflight} | ${f(median(rps.ours))} | ${f(median(rps.cpp))} | ${ratio.toFixed(2)} |`);
  }
  await client.close();
  await server.close();
  await ours.close({ timeout: 100 });
  return [
    "### C++ OxenMQ client → our server",
    "",
    `A C++ OxenMQ 1.2.16 client (test/interop/peer.cpp) sends \`public.echo\` requests of 100 B over CURVE, to our server ` +
      `and to a C++ OxenMQ server, alternately; medians over ${rounds} rounds, the ratio paired within a round.`,
    "",
    "| in flight | our server req/s | C++ server req/s | ours ×C++ |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (n: number): string => Math.round(n).toLocaleString("en-US");
