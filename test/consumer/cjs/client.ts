// A CommonJS consumer (this folder's package.json says "type": "commonjs"): compiled to require() calls, which load the
// runtime's ES modules (Node.js >= 20.19). It calls the typed server untyped, with bt-encoded arguments.
import { btDecode, btEncode, OxenMQ } from "@oxenmq-ts/runtime";

async function main(): Promise<void> {
  const omq = await OxenMQ.create();
  await omq.start();
  const conn = await omq.connectRemote(process.argv[2]!);
  const [status, payload] = await omq.request(conn, "shop.item", [btEncode({ sku: "tea" })]);
  const item = btDecode(payload!) as { name: Uint8Array; price: bigint | number };
  console.log(`cjs: ${String(status)} ${Buffer.from(item.name).toString()} ${item.price}`);
  await omq.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
