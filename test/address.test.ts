import { describe, expect, test } from "@jest/globals";
import { Address, fromHex, toBase32z, toBase64 } from "../runtime/index.js";

const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const pk = fromHex(hex);

describe("Address parsing (docs/protocol.md#addresses)", () => {
  test("tcp, ipc and their fields", () => {
    const a = new Address("tcp://127.0.0.1:5555");
    expect([a.protocol, a.host, a.port, a.isCurve, a.zmqAddress]).toEqual([
      "tcp",
      "127.0.0.1",
      5555,
      false,
      "tcp://127.0.0.1:5555",
    ]);
    const six = new Address("tcp://[::1]:7");
    expect([six.host, six.zmqAddress]).toEqual(["[::1]", "tcp://[::1]:7"]);
    expect(new Address("ipc://../foo").socket).toBe("../foo");
    expect(new Address("ipc:///path/x").zmqAddress).toBe("ipc:///path/x");
  });

  test.each([
    ["hex", hex],
    ["HEX upper", hex.toUpperCase()],
    ["base32z", toBase32z(pk)],
    ["base32z upper", toBase32z(pk).toUpperCase()],
    ["base64", toBase64(pk)],
    ["base64 padded", toBase64(pk) + "="],
  ])("curve:// with a %s key", (_name, key) => {
    for (const proto of ["curve", "tcp+curve"]) {
      const a = new Address(`${proto}://example.com:1234/${key}`);
      expect(a.protocol).toBe("tcp_curve");
      expect(Buffer.from(a.pubkey).toString("hex")).toBe(hex);
      expect(a.zmqAddress).toBe("tcp://example.com:1234");
    }
    expect(Buffer.from(new Address(`ipc+curve:///tmp/sock/${key}`).pubkey).toString("hex")).toBe(hex);
    expect(new Address(`ipc+curve:///tmp/sock/${key}`).socket).toBe("/tmp/sock");
  });

  test("outputs: full, QR, encodings", () => {
    const a = new Address(`curve://[::1]:5/${hex}`);
    expect(a.fullAddress("hex")).toBe(`curve://[::1]:5/${hex}`);
    expect(a.fullAddress()).toBe(`curve://[::1]:5/${toBase32z(pk)}`);
    expect(a.encodePubkey("base64")).toBe(toBase64(pk));
    expect(a.qrAddress).toBe(`CURVE://$::1$:5/${toBase32z(pk).toUpperCase()}`);
    expect(new Address(a.qrAddress).equals(a)).toBe(true);
    expect(new Address("TCP://LOCALHOST:80").host).toBe("localhost");
    expect(new Address(`ipc+curve:///s/${hex}`).fullAddress("hex")).toBe(`ipc+curve:///s/${hex}`);
    expect(() => new Address("ipc:///x").qrAddress).toThrow(/QR/);
  });

  test("withPubkey switches protocol; equality ignores keys of plain addresses", () => {
    const plain = new Address("tcp://h:1");
    const curve = plain.withPubkey(pk);
    expect(curve.protocol).toBe("tcp_curve");
    expect(curve.withPubkey(new Uint8Array(0)).equals(plain)).toBe(true);
    expect(curve.equals(plain)).toBe(false);
    expect(() => plain.withPubkey(new Uint8Array(5))).toThrow(/0 or 32 bytes/);
  });

  test.each([
    "127.0.0.1:5555",
    "://x",
    "tcp://",
    "udp://1.2.3.4:5",
    "tcp://:5",
    "tcp://host",
    "tcp://host:0",
    "tcp://host:65536",
    "tcp://host:99999999999999999999",
    "tcp://1:1:1",
    "tcp://host:12/extra",
    "tcp://[::1x]:5",
    "curve://host:5",
    `curve://host:5/${hex}00`,
    `curve://host:5/${hex.slice(2)}`,
    "ipc+curve:///tmp/nokey",
    `CURVE://HOST:5/${toBase64(pk)}`,
    "TCP://lower:5",
  ])("rejects %s", (bad) => {
    expect(() => new Address(bad)).toThrow(expect.objectContaining({ code: "INVALID_ADDRESS" }));
  });
});
