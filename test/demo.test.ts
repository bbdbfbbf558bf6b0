import { afterAll, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Address } from "../runtime/index.js";
import { RpcClient } from "../generated/node.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";

afterAll(closeAll);

test("`demo serve` serves the typed and untyped categories on the given addresses and stops on SIGINT", async () => {
  const keyFile = join(mkdtempSync(join(tmpdir(), "omq-serve-")), "server.key");
  const child = spawn(process.execPath, [
    join(process.cwd(), "dist/examples/demo.js"),
    "serve",
    "--plain",
    "tcp://127.0.0.1:0",
    "--curve",
    "tcp://127.0.0.1:0",
    "--key-file",
    keyFile,
  ]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  try {
    await waitFor(() => out.includes("serving;"), "the server to start", 20_000);
    const plain = /plain: (tcp:\/\/\S+)/.exec(out)![1]!;
    const curve = /curve: (curve:\/\/\S+)/.exec(out)![1]!;
    const client = await makeOmq();
    await client.start();
    const p = await client.connectRemote(plain);
    expect(text(await client.request(p, "public.hello", ["test"]))).toEqual(["hello, test"]);
    const c = await client.connectRemote(new Address(curve));
    expect(await new RpcClient(client, c).echo({ text: "ab", times: 2 })).toEqual({ text: "abab" });
    expect(text(await client.request(c, "members.whoami"))[1]).toBe("basic"); // CURVE clients are admitted at basic
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  } finally {
    child.kill();
  }
}, 60_000);
