import type { OxenMQ } from "@oxenmq-ts/runtime";

/**
 * The demo server's categories, shared by `npm run demo` and `npm run demo -- serve`:
 * - `public` (auth none):  request `hello [name]` → "hello, NAME"; request `echo ...` → the same frames;
 *                          command `ping` → sends `client.pong` back to the caller
 * - `members` (auth basic): request `whoami` → the caller's pubkey (hex, or "anonymous") and auth level
 * - `admin` (auth admin):   request `stats` → number of requests served so far
 */
export function registerDemoCategories(omq: OxenMQ): void {
  let served = 0;
  omq
    .addCategory("public", "none", { reservedThreads: 1 })
    .addRequestCommand("hello", (m) => {
      served++;
      m.reply(`hello, ${m.data[0]?.toString() ?? "stranger"}`);
    })
    .addRequestCommand("echo", (m) => {
      served++;
      m.reply(...m.data);
    })
    .addCommand("ping", (m) => {
      served++;
      m.sendBack("client.pong", [String(Date.now())]);
    });
  omq.addCategory("members", "basic").addRequestCommand("whoami", (m) => {
    served++;
    m.reply(m.pubkey.length ? Buffer.from(m.pubkey).toString("hex") : "anonymous", m.access.auth);
  });
  omq.addCategory("admin", "admin").addRequestCommand("stats", (m) => {
    served++;
    m.reply(String(served));
  });
  omq.addCommandAlias("hello", "public.hello");
}
