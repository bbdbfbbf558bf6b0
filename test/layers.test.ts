import { describe, expect, it } from "@jest/globals";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The runtime's shape (README#architecture): folders in layers, each depending only on itself and the layers below,
 * and no import circle between files, type-only imports included.
 */
const RUNTIME = resolve(dirname(fileURLToPath(import.meta.url)), "../runtime");

/** Bottom to top; the root holds the facade and the package entries; cli/ is the `omq` command. */
const LAYERS = ["base", "wire", "auth", "net", "dispatch", "rpc", "", "cli"] as const;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "dist" || name === "node_modules" || name === "bin") return [];
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Every import (and re-export) of one runtime file to another, as paths relative to runtime/. */
function importGraph(): { files: string[]; edges: Edge[]; outside: Edge[] } {
  const files = sources(RUNTIME).map((f) => relative(RUNTIME, f));
  const edges: Edge[] = [];
  const outside: Edge[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(RUNTIME, from), "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const to = relative(RUNTIME, resolve(RUNTIME, dirname(from), fileName)).replace(/\.js$/, ".ts");
      (to.startsWith("..") ? outside : edges).push({ from, to });
    }
  }
  return { files, edges, outside };
}

const layerOf = (file: string): string => (file.includes("/") ? file.slice(0, file.indexOf("/")) : "");

/** The import circles (strongly connected components of more than one file, or a file importing itself). */
function circles(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)!.includes(v)) found.push(scc.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe("runtime shape", () => {
  const { files, edges, outside } = importGraph();

  it("finds the runtime's files and imports", () => {
    expect(files.length).toBeGreaterThan(30);
    expect(edges.length).toBeGreaterThan(100);
  });

  it("has no import circle", () => {
    expect(circles(files, edges)).toEqual([]);
  });

  it("the circle check sees one", () => {
    expect(
      circles(
        ["a", "b", "c"],
        [
          { from: "a", to: "b" },
          { from: "b", to: "c" },
          { from: "c", to: "a" },
        ],
      ),
    ).toEqual([["a", "b", "c"]]);
    expect(circles(["a", "b"], [{ from: "a", to: "b" }])).toEqual([]);
  });

  it("every file is in a known layer, and imports only its own layer and those below", () => {
    const rank = (f: string): number => (LAYERS as readonly string[]).indexOf(layerOf(f));
    expect(files.filter((f) => rank(f) < 0)).toEqual([]);
    const upward = edges.filter((e) => rank(e.to) > rank(e.from)).map((e) => `${e.from} -> ${e.to}`);
    expect(upward).toEqual([]);
  });

  it("never imports outside runtime/ (generator/, generated/)", () => {
    expect(outside.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });
});
