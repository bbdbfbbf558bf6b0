import { expect, test } from "@jest/globals";
import bencode from "bencode";
import { btDecode, btEncode, codec } from "../runtime/index.js";

test("our bt encoding is byte-identical to the bencode package's, and decodes what it encodes", () => {
  const value = { b: [1, -2, Buffer.from("x\x00y")], a: Buffer.from("hi"), é: 0, c: { z: 1, y: [] } };
  const ours = btEncode(value);
  expect(Buffer.from(bencode.encode(value))).toEqual(ours);
  const theirs = bencode.decode(ours) as Record<string, unknown>;
  expect(Buffer.from(theirs.a as Uint8Array).toString()).toBe("hi");
  expect(btDecode(ours)).toEqual({ a: Buffer.from("hi"), b: [1, -2, Buffer.from("x\x00y")], c: { y: [], z: 1 }, é: 0 });
});

test("bigint beyond 2^53 round-trips (bencode drops it on encode and rounds it on decode)", () => {
  const big = 2n ** 64n + 5n;
  const data = btEncode({ n: big, neg: -(2n ** 70n) });
  expect(data.toString()).toBe(`d1:ni${big}e3:negi${-(2n ** 70n)}ee`); // keys sorted bytewise: "n" < "neg"
  expect(btDecode(data)).toEqual({ n: big, neg: -(2n ** 70n) });
  expect(btEncode(5n).toString()).toBe("i5e");
});

test.each([
  ["i01e", /bad integer/],
  ["i-0e", /bad integer/],
  ["ie", /bad integer/],
  ["i12", /unterminated/],
  ["5:abc", /past the end/],
  ["01:a", /bad string length/],
  ["d1:b0:1:a0:e", /not sorted/],
  ["d1:a0:1:a0:e", /not sorted or duplicated/],
  ["i1ei2e", /trailing/],
  ["x", /unexpected byte/],
  ["l".repeat(100) + "e".repeat(100), /nested too deeply/],
  ["d1:a", /unexpected end|unterminated/],
])("strict decoding rejects %j", (input, message) => {
  expect(() => btDecode(Buffer.from(input))).toThrow(message);
});

test("codecs validate with the path of the offending value", () => {
  const c = codec.object<{ a: number; b?: { c: ("x" | "y")[] } }>("T", {
    a: codec.field(codec.int),
    b: codec.optional(codec.object("B", { c: codec.field(codec.array(codec.literals("x", "y"))) })),
  });
  expect(() => c.toBt({ a: 1.5 }, "args")).toThrow("args.a: expected a safe integer, got 1.5");
  expect(() => c.toBt({} as never, "args")).toThrow("args: missing required field 'a'");
  expect(() => c.toBt({ a: 1, b: { c: ["x", "z" as "x"] } }, "args")).toThrow(
    'args.b.c[1]: expected "x" | "y", got "z"',
  );
  expect(() => c.fromBt({ a: Buffer.from("1") }, "args")).toThrow("args.a: expected integer, got bytes");
  expect(() => codec.string.fromBt(Buffer.from([0xff, 0xfe]), "s")).toThrow(/invalid UTF-8/);
  expect(() => codec.boolean.fromBt(2, "f")).toThrow("f: expected boolean (0 or 1), got number");
  expect(c.fromBt(btDecode(btEncode(c.toBt({ a: 7, b: { c: ["y"] } }, "a"))), "a")).toEqual({ a: 7, b: { c: ["y"] } });
});
