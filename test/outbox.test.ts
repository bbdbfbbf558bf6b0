import { expect, test } from "@jest/globals";
import type { Dealer } from "zeromq";
import { OmqError } from "../runtime/index.js";
import { Log } from "../runtime/base/log.js";
import { Outbox } from "../runtime/net/sockets.js";

/**
 * A socket whose sends stay pending until released, and which refuses a second send meanwhile with EBUSY (as
 * zeromq.js does when a send cannot complete at once). Our sockets never leave a send pending (`sendTimeout: 0`);
 * this checks that the Outbox still delivers everything, in order, if one ever is.
 */
class SlowSocket {
  closed = false;
  readonly sent: string[] = [];
  private release: (() => void) | undefined;
  send(frames: Array<string | Uint8Array>): Promise<void> {
    if (this.release) throw Object.assign(new Error("Socket is busy writing"), { code: "EBUSY" });
    const text = frames.map((f) => String(f)).join("|");
    if (text === "fail") return Promise.reject(Object.assign(new Error("Host unreachable"), { code: "EHOSTUNREACH" }));
    return new Promise((resolve) => {
      this.release = () => {
        this.release = undefined;
        this.sent.push(text);
        resolve();
      };
    });
  }
  releaseOne(): boolean {
    if (!this.release) return false;
    this.release();
    return true;
  }
}

test("Outbox: sends left pending queue up behind each other, in order, and each reports its outcome", async () => {
  const socket = new SlowSocket();
  const box = new Outbox(socket as unknown as Dealer, new Log(undefined), "test socket");
  const outcomes: string[] = [];
  const done = (name: string) => (err?: OmqError) => outcomes.push(`${name}:${err ? err.code : "ok"}`);
  box.push(["a"], done("a"));
  box.push(["b"], done("b"));
  box.push(["fail"], done("fail"));
  box.push(["c"], done("c"));
  const deadline = Date.now() + 5000;
  while (outcomes.length < 4 && Date.now() < deadline) {
    socket.releaseOne();
    await new Promise((r) => setImmediate(r));
  }
  expect(socket.sent).toEqual(["a", "b", "c"]);
  expect(outcomes).toEqual(["a:ok", "b:ok", "fail:HOST_UNREACHABLE", "c:ok"]);
});
