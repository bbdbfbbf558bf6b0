import { beforeAll, expect, test } from "@jest/globals";
import { join } from "node:path";
import { Project } from "ts-morph";

// Compile-time checks of generated code, with the project's own strict tsconfig: misuse must not compile.
let project: Project;
let n = 0;

beforeAll(() => {
  project = new Project({ tsConfigFilePath: join(process.cwd(), "tsconfig.json"), skipAddingFilesFromTsConfig: true });
});

const prelude = `
import { OxenMQ, ConnectionID } from "../runtime/index.js";
import { registerTypes, TypesClient, type Everything, type Tree, type TypesHandlers } from "./fixtures/generated/types.js";
import { AssistantClient } from "./fixtures/generated/clashes.js";
declare const omq: OxenMQ;
declare const conn: ConnectionID;
declare const everything: Everything;
declare const tree: Tree;
const client = new TypesClient(omq, conn);
const handlers: TypesHandlers = {
  echo: (a) => a,
  depth: () => 1,
  jsonEcho: async (a) => a,
  rawEcho: (f) => f,
  fire: () => {},
  nothing: () => {},
  colors: (_a, ctx) => { const later = ctx.later(); later.resolve(["red"]); return later; },
};
`;

/** Type errors of a snippet placed in test/ (never written to disk). */
function errorsOf(body: string): string[] {
  const sf = project.createSourceFile(join(process.cwd(), `test/__typecheck_${n++}.ts`), prelude + body, {
    overwrite: true,
  });
  type Chain = { getMessageText(): string; getNext(): Chain[] | undefined };
  const flatten = (c: Chain): string => [c.getMessageText(), ...(c.getNext() ?? []).map(flatten)].join("\n");
  const diags = sf.getPreEmitDiagnostics().map((d) => {
    const m = d.getMessageText();
    return typeof m === "string" ? m : flatten(m);
  });
  project.removeSourceFile(sf);
  return diags;
}

test("correct use of generated clients and handlers compiles", () => {
  expect(
    errorsOf(`
export async function ok(): Promise<void> {
  registerTypes(omq, handlers);
  const e: Everything = await client.echo(everything);
  const d: number = await client.depth(tree, { timeout: 100 });
  const colors: ("red" | "green" | "blue")[] = await client.colors();
  client.fire({ color: "red" });
  client.nothing();
  const frames: Uint8Array[] = await client.rawEcho([new Uint8Array(1)]);
  const s: string = await new AssistantClient(omq, conn).then_();
  void [e, d, colors, frames, s];
}`),
  ).toEqual([]);
}, 60_000);

test.each([
  ["a wrong argument type", `void client.depth({ label: 1, children: [] });`, /number.*not assignable to.*string/],
  [
    "a missing required field",
    `void client.echo({ text: "x" } as { text: string });`,
    /missing the following properties|is missing/,
  ],
  ["a string outside the literal union", `client.fire({ color: "purple" });`, /"purple".*not assignable/],
  ["arguments to a command without any", `client.nothing({ color: "red" });`, /may only specify known properties/],
  [
    "a wrong result type in the caller",
    `export async function f() { const s: string = await client.depth(tree); void s; }`,
    /number.*not assignable to.*string/,
  ],
  ["a handler returning the wrong type", `registerTypes(omq, { ...handlers, colors: () => [1] });`, /not assignable/],
  [
    "a handler with a wrong literal",
    `registerTypes(omq, { ...handlers, colors: () => ["purple"] });`,
    /not assignable/,
  ],
  [
    "a missing handler",
    `const { echo: _e, ...partial } = handlers; registerTypes(omq, partial);`,
    /Property 'echo' is missing/,
  ],
  [
    "a generated client awaited as a thenable",
    `export async function f() { const c = await new AssistantClient(omq, conn); c.then(); }`,
    /then/,
  ],
])("%s does not compile", (_name, body, message) => {
  const errors = errorsOf(body);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.join("\n")).toMatch(message);
});
