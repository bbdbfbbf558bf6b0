import { expect, test } from "@jest/globals";
import sodium from "libsodium-wrappers";
import { OxenMQ, generateKeyPair } from "../runtime/index.js";

test("keys are generated, or validated with clear errors", async () => {
  const generated = await OxenMQ.create();
  expect(generated.publicKey).toHaveLength(32);
  const kp = await generateKeyPair();
  const given = await OxenMQ.create({ publicKey: kp.publicKey, secretKey: kp.secretKey });
  expect(Buffer.from(given.publicKey)).toEqual(Buffer.from(kp.publicKey));
  const other = await generateKeyPair();
  await expect(OxenMQ.create({ publicKey: kp.publicKey, secretKey: other.secretKey })).rejects.toThrow(
    /does not match/,
  );
  await expect(OxenMQ.create({ publicKey: kp.publicKey })).rejects.toThrow(/both/);
  await expect(OxenMQ.create({ publicKey: kp.publicKey.subarray(1), secretKey: kp.secretKey })).rejects.toThrow(
    /32 bytes/,
  );
  await sodium.ready;
  const ed = sodium.crypto_sign_keypair();
  await expect(OxenMQ.create({ publicKey: ed.publicKey, secretKey: ed.privateKey })).rejects.toThrow(/ed25519/);
  await expect(OxenMQ.create({ serviceNode: true })).rejects.toMatchObject({ code: "INVALID_KEY" });
});

test("pre-start and post-start only methods fail clearly", async () => {
  const omq = await OxenMQ.create();
  expect(() => omq.send(undefined as never, "a.b")).toThrow(/requires start/);
  await expect(omq.connectInproc()).rejects.toBeDefined();
  omq.addCategory("a", "none");
  expect(() => omq.listenCurve("inproc://x")).toThrow(/inproc/);
  await omq.start();
  await expect(omq.start()).rejects.toThrow("Cannot call start multiple times!");
  expect(() => omq.addCategory("b")).toThrow(/before start/);
  expect(() => omq.addCommand("a", "x", () => {})).toThrow(/before start/);
  await omq.close();
  expect(() => omq.send(undefined as never, "a.b")).toThrow(/closed/);
});
