import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Address, readKeyFile, RpcError, toHex } from "../runtime/index.js";
import { registerRpc } from "../generated/node.js";
import { closeAll, makeOmq, text, waitFor } from "./helpers/omq.js";

// Runs the built `omq` binary (npm test builds first) against a server started here.
const exec = promisify(execFile);
const bin = join(process.cwd(), "runtime/dist/cli/omq.js");
const omq = (...args: string[]) => exec(process.execPath, [bin, ...args], { timeout: 20_000 });
const dir = mkdtempSync(join(tmpdir(), "omq-cli-"));
let curveAddr: string;
let plainAddr: string;
const notes: string[] = [];

beforeAll(async () => {
  const server = await makeOmq();
  server
    .addCategory("pub", "none")
    .addRequestCommand("echo", (m) => m.reply(...m.data))
    .addRequestCommand("bin", (m) => m.reply(Buffer.from([0, 1, 2, 255])))
    .addCommand("note", (m) => void notes.push(...text(m.data)));
  server.addCategory("adm", "admin").addRequestCommand("who", (m) => m.reply(toHex(m.pubkey)));
  registerRpc(server, {
    info: () => ({ version: "1", network: "devnet", height: 7, serviceNode: false }),
    headers: ({ count = 1 }) => {
      if (count > 100) throw new RpcError(400, "count must be at most 100");
      return [{ height: 1, hash: new Uint8Array([0xff, 0]), timestamp: 5, emission: 2n ** 64n }];
    },
    echo: ({ text, times = 1 }) => ({ text: text.repeat(times) }),
    statusJson: () => ({ status: "OK", height: 7 }),
  });
  const adminKeyFile = join(dir, "admin.key");
  await omq("keygen", "--out", adminKeyFile);
  const adminKey = toHex((await readKeyFile(adminKeyFile)).publicKey);
  const c = server.listenCurve("tcp://127.0.0.1:0", {
    allow: (_ip, pk) => (toHex(pk) === adminKey ? "admin" : "none"),
  });
  const p = server.listenPlain("tcp://127.0.0.1:0");
  await server.start();
  curveAddr = new Address(await c, server.publicKey).fullAddress();
  plainAddr = await p;
}, 30_000);
afterAll(closeAll);

test("keygen writes a key file and prints the public key", async () => {
  const out = join(dir, "k.key");
  const { stdout } = await omq("keygen", "--out", out);
  expect(existsSync(out)).toBe(true);
  const keys = JSON.parse(readFileSync(out, "utf8")) as { publicKey: string };
  expect(stdout).toContain(keys.publicKey);
  expect(stdout).toMatch(/base32z\): [a-z0-9]{52}/);
});

test("request over curve:// and plain tcp prints the reply frames", async () => {
  expect((await omq("request", curveAddr, "pub.echo", "hello", "world")).stdout).toBe("hello\nworld\n");
  expect((await omq("request", plainAddr, "pub.echo", "x")).stdout).toBe("x\n");
  expect((await omq("request", curveAddr, "pub.bin")).stdout).toBe("000102ff\n");
  expect((await omq("request", curveAddr, "pub.echo", "hi", "--hex")).stdout).toBe("6869\n");
});

test("errors print the error word and exit 1", async () => {
  const err = await omq("request", curveAddr, "adm.who").catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 1, stderr: expect.stringContaining("FORBIDDEN") });
  const bad = await omq("request", "tcp://nope", "a.b").catch((e: { code: number; stderr: string }) => e);
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining("INVALID_ADDRESS") });
});

test("--key-file proves the key to the server", async () => {
  const { stdout } = await omq("request", curveAddr, "adm.who", "--key-file", join(dir, "admin.key"));
  expect(stdout.trim()).toBe(toHex((await readKeyFile(join(dir, "admin.key"))).publicKey));
});

test("send delivers a command", async () => {
  await omq("send", curveAddr, "pub.note", "sent-by-cli");
  await waitFor(() => notes.includes("sent-by-cli"), "command from the CLI");
});

test("--json calls a typed command: arguments from JSON, the result printed as JSON", async () => {
  const echo = await omq("request", curveAddr, "rpc.echo", "--json", '{"text": "hi", "times": 2}');
  expect(JSON.parse(echo.stdout)).toEqual({ text: "hihi" });
  const headers = await omq("request", curveAddr, "rpc.headers", "--json", '{"from": 1, "count": 1}');
  // Bytes that are not text print as 0x…; integers beyond 2^53 print exactly.
  expect(headers.stdout).toContain('"hash": "0xff00"');
  expect(headers.stdout).toContain('"emission": 18446744073709551616');
  const info = await omq("request", curveAddr, "get_info", "--json");
  expect(JSON.parse(info.stdout)).toMatchObject({ network: "devnet", height: 7 });
});

test("a status-first reply other than 200 exits 1 with the status and message", async () => {
  const err = await omq("request", curveAddr, "rpc.headers", "--json", '{"from": 1, "count": 101}').catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(err).toMatchObject({ code: 1, stderr: "400 count must be at most 100\n" });
  const raw = await omq("request", curveAddr, "rpc.headers", "--status", "not bt").catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(raw).toMatchObject({ code: 1, stderr: expect.stringMatching(/^400 invalid bt-encoded data/) });
  const bad = await omq("request", curveAddr, "rpc.echo", "--json", "{nope").catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^INVALID_ARGUMENT: --json: /) });
});
