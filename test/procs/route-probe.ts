/**
 * Prints the route libzmq makes up for a peer without a routing id on a fresh instance's first listener
 * (test/faults.test.ts): it must differ between processes (docs/identity.md, fact 8).
 */
import { Dealer } from "zeromq";
import { OxenMQ } from "@oxenmq-ts/runtime";

const omq = await OxenMQ.create({ closeLinger: 0 });
const endpoint = omq.listenPlain("tcp://127.0.0.1:0");
await omq.start();
const peer = new Dealer({ linger: 0 });
peer.connect(await endpoint);
await peer.send(["x"]);
const table = (
  omq as unknown as { network: { listeners: Array<{ table: { values(): Iterable<{ route: Buffer }> } }> } }
).network.listeners[0]!.table;
const deadline = Date.now() + 10_000;
let routes: string[] = [];
while (routes.length === 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 10));
  routes = [...table.values()].map((c) => c.route.toString("hex"));
}
process.stdout.write(`${JSON.stringify({ event: "route", routes })}\n`);
peer.close();
await omq.close();
