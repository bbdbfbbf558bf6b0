import { expect, test } from "@jest/globals";
import { CommandRegistry } from "../runtime/rpc/commands.js";
import { Subscription, ConnectionID } from "../runtime/index.js";

test("category, command and alias rules (docs/protocol.md#commands-and-access)", () => {
  const r = new CommandRegistry();
  r.addCategory("hey google", "basic");
  expect(() => r.addCategory("hey google")).toThrow(/already exists/);
  expect(() => r.addCategory("a.b")).toThrow(/'\.'/);
  expect(() => r.addCategory("")).toThrow(/1 to 50/);
  expect(() => r.addCategory("x".repeat(51))).toThrow(/1 to 50/);
  r.addCategory("x".repeat(50));
  r.addCommand("hey google", "install backdoor", () => {}, false);
  r.addCommand("hey google", "client.pubkey", () => {}, true);
  expect(() => r.addCommand("hey google", "client.pubkey", () => {}, true)).toThrow(/already exists/);
  expect(() => r.addCommand("nope", "x", () => {}, false)).toThrow(/unknown category/);
  expect(() => r.addCommand("hey google", "y".repeat(201), () => {}, false)).toThrow(/200/);
  expect(r.lookup("hey google.client.pubkey")?.isRequest).toBe(true);
  expect(r.lookup("hey google.install backdoor")?.name).toBe("install backdoor");
  expect(r.lookup(".x")).toBeUndefined();
  expect(r.lookup("nodot")).toBeUndefined();
  r.addAlias("old", "hey google.install backdoor");
  expect(r.lookup("old")?.name).toBe("install backdoor");
  expect(() => r.addAlias("old", "a.b")).toThrow(/already exists/);
  expect(() => r.addAlias("", "a.b")).toThrow(/empty/);
  expect(() => r.addAlias(".x", "a.b")).toThrow(/start with/);
  expect(() => r.addAlias("x", ".b")).toThrow(/category.command/);
  expect(() => r.addAlias("hey google.install backdoor", "a.b")).toThrow(/mask/);
  r.addCategory("al");
  r.addAlias("al.cmd", "hey google.install backdoor");
  expect(() => r.addCommand("al", "cmd", () => {}, false)).toThrow(/alias/);
});

test("Subscription: new, refresh, changed data, expiry, unsubscribe", () => {
  let now = 1000;
  const sub = new Subscription<string>("test", 100, () => now);
  const a = new ConnectionID(2, undefined, Buffer.from("a"));
  const b = new ConnectionID(2, undefined, Buffer.from("b"));
  expect(sub.subscribe(a, "x")).toBe(true);
  expect(sub.subscribe(a, "x")).toBe(false);
  expect(sub.subscribe(a, "y")).toBe(true);
  expect(sub.subscribe(b, "z")).toBe(true);
  const seen: string[] = [];
  sub.publish((_c, d) => seen.push(d));
  expect(seen.sort()).toEqual(["y", "z"]);
  now += 50;
  sub.subscribe(b, "z");
  now += 60; // a expired, b refreshed
  const after: string[] = [];
  sub.publish((_c, d) => after.push(d));
  expect(after).toEqual(["z"]);
  expect(sub.size).toBe(1);
  expect(sub.unsubscribe(b)).toBe("z");
  expect(sub.unsubscribe(b)).toBeUndefined();
});
