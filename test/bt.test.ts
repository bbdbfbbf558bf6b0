import { expect, test } from "@jest/globals";
import bencode from "bencode";
import { btDecode, btEncode } from "../runtime/index.js";
import * as codec from "../runtime/wire/codec.js";

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
  expect(() => codec.encodeBt(c, { a: 1.5 }, "args")).toThrow("args.a: expected a safe integer, got 1.5");
  expect(() => codec.encodeBt(c, {} as never, "args")).toThrow("args: missing required field 'a'");
  expect(() => codec.encodeBt(c, { a: 1, b: { c: ["x", "z" as "x"] } }, "args")).toThrow(
    'args.b.c[1]: expected "x" | "y", got "z"',
  );
  expect(() => codec.decodeBt(c, btEncode({ a: Buffer.from("1") }), "args")).toThrow(
    "args.a: expected integer, got bytes",
  );
  expect(() => codec.decodeBt(codec.string, btEncode(Buffer.from([0xff, 0xfe])), "s")).toThrow(/invalid UTF-8/);
  expect(() => codec.decodeBt(codec.boolean, btEncode(2), "f")).toThrow("f: expected boolean (0 or 1), got number");
  const value = { a: 7, b: { c: ["y" as const] } };
  expect(btDecode(codec.encodeBt(c, value, "a"))).toEqual(btDecode(btEncode(value)));
  expect(codec.decodeBt(c, codec.encodeBt(c, value, "a"), "a")).toEqual(value);
  // A failed encoding leaves nothing behind for the next one.
  expect(() => btEncode({ x: 0.5 })).toThrow(/safe integers/);
  expect(codec.encodeBt(c, value, "a")).toEqual(btEncode(value));
});

test("typed decoding reads straight from bt: unknown fields skipped, as strict as btDecode", () => {
  interface T {
    a: number;
    c?: string;
    e: Uint8Array[];
    f?: boolean;
    g?: bigint;
  }
  const T = codec.object<T>("T", {
    a: codec.field(codec.int),
    c: codec.optional(codec.string),
    e: codec.field(codec.array(codec.bytes)),
    f: codec.optional(codec.boolean),
    g: codec.optional(codec.bigint),
  });
  const read = (s: string): T => codec.decodeBt(T, Buffer.from(s), "x");
  // Unknown keys before, between and after the known ones, holding every kind of value.
  const v = read("d1:0i9e1:ai1e1:bli1ee1:c2:hi1:dd1:qi1ee1:el1:x0:e1:fi1e1:gi1180591620717411303424e1:zi0ee");
  expect({ ...v, e: v.e.map((b) => Buffer.from(b).toString()) }).toEqual({
    a: 1,
    c: "hi",
    e: ["x", ""],
    f: true,
    g: 2n ** 70n,
  });
  expect(read("d1:ai-3e1:elee")).toEqual({ a: -3, e: [] });
  for (const text of ["", "plain ascii", "héllo ✓ 𝄞", "\u0000\u007f"])
    expect(codec.decodeBt(codec.string, codec.encodeBt(codec.string, text, "s"), "s")).toBe(text);
  expect(() => codec.decodeBt(codec.string, Buffer.from("3:a\xffb", "latin1"), "s")).toThrow(/invalid UTF-8/);
  expect(() => read("d1:c2:hi1:ai1e1:elee")).toThrow(/not sorted/);
  expect(() => read("d1:ai1e1:ai2e1:elee")).toThrow(/not sorted or duplicated/);
  expect(() => read("d1:ai1e1:eleei0e")).toThrow(/trailing/);
  expect(() => read("d1:ai1e1:ele")).toThrow(/unterminated/);
  expect(() => read("d1:ai1ee")).toThrow("x: missing required field 'e'");
  expect(() => read("d1:ai1e1:eli1eee")).toThrow("x.e[0]: expected bytes, got number");
  expect(() => read("d1:ai1e1:ele1:fi2ee")).toThrow("x.f: expected boolean (0 or 1), got number");
  expect(() => read("li1ee")).toThrow("x: expected T, got list");
  // Within the limit of the default integer type.
  expect(() => read("d1:ai9007199254740993e1:elee")).toThrow("x.a: expected integer, got bigint");

  interface Tree {
    k?: Tree[];
  }
  const Tree: codec.Codec<Tree> = codec.object<Tree>("Tree", {
    k: codec.optional(codec.array(codec.lazy("Tree", () => Tree))),
  });
  const nested = (n: number): string => "d1:kl".repeat(n) + "ee".repeat(n);
  expect(codec.decodeBt(Tree, Buffer.from(nested(10)), "t")).toBeDefined();
  expect(() => codec.decodeBt(Tree, Buffer.from(nested(40)), "t")).toThrow(/nested too deeply/);
  expect(codec.encodeBt(Tree, { k: [{}, { k: [] }] }, "t").toString()).toBe("d1:klded1:kleeee");
});
