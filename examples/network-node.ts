import { ConnectionID, fromHex, generateKeyPair, OxenMQ, toHex } from "@oxenmq-ts/runtime";

/**
 * One service node of the vote network (`npm run demo -- network`), run as its own process. It talks to the parent
 * over the IPC channel: ready (its key and address) → table (everyone's) → go → done (its results).
 */
type Parent = { type: "table"; table: Array<[string, string]> } | { type: "go" } | { type: "exit" };

const send = (m: object): void => void process.send!(m);

async function main(): Promise<void> {
  const table = new Map<string, string>();
  const keys = await generateKeyPair();
  const self = toHex(keys.publicKey);
  const sn = await OxenMQ.create({
    ...keys,
    serviceNode: true,
    snLookup: (pk) => table.get(toHex(pk)),
  });
  sn.addCategory("sn", { remoteSN: true }, { reservedThreads: 2, maxQueue: -1 }).addRequestCommand("vote", (m) =>
    m.reply("yes", self),
  );
  const endpoint = sn.listenCurve("tcp://127.0.0.1:0");
  await sn.start();
  send({ type: "ready", pubkey: self, endpoint: await endpoint });
  process.on("message", (msg: Parent) => {
    if (msg.type === "table") {
      for (const [pk, ep] of msg.table) table.set(pk, ep);
      sn.setActiveSNs(msg.table.map(([pk]) => fromHex(pk)));
      send({ type: "armed" });
    } else if (msg.type === "go") {
      const t0 = performance.now();
      const others = [...table.keys()].filter((pk) => pk !== self);
      void Promise.allSettled(
        others.map((pk) => sn.request(ConnectionID.sn(fromHex(pk)), "sn.vote", [self], { timeout: 60_000 })),
      ).then((results) => {
        const ok = results.filter((r) => r.status === "fulfilled" && r.value[0]?.toString() === "yes").length;
        send({ type: "done", ok, failed: results.length - ok, ms: performance.now() - t0 });
      });
    } else if (msg.type === "exit") {
      void sn.close({ timeout: 1000 }).then(() => process.exit(0));
    }
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`network node failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
