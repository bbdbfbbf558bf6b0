import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate, schemaProject } from "@oxenmq-ts/codegen";

// The schema DSL as the generator package exports it (the built module, whose .d.ts the schemas type-check against).
const dsl = resolve(fileURLToPath(import.meta.resolve("@oxenmq-ts/codegen/schema")));

/** Writes `files` schema files with `categories` categories of `commands` commands each, with varied types. */
function corpus(files: number, categories: number, commands: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), "omq-bench-"));
  const paths: string[] = [];
  const perFile = categories / files;
  for (let f = 0; f < files; f++) {
    const lines = [`import { category, command, request } from ${JSON.stringify(dsl)};`];
    lines.push(
      `export interface Item${f} { id: number; name: string; tags: string[]; data?: Uint8Array; big: bigint; kind: "a" | "b" }`,
    );
    for (let c = 0; c < perFile; c++) {
      const cat = f * perFile + c;
      const cmds: string[] = [];
      for (let i = 0; i < commands; i++) {
        cmds.push(
          i % 3 === 0
            ? `/** Command ${i}. */ get_${i}: request<{ id: number; filter?: { from: number; to?: number } }, Item${f}[]>()`
            : i % 3 === 1
              ? `set_${i}: request<Item${f}, { ok: boolean }>({ aliases: ["old_${cat}_${i}"] })`
              : `note_${i}: command<{ text: string; level: "info" | "warn" }>()`,
        );
      }
      lines.push(
        `export const cat${cat} = category("cat${cat}", { access: "basic", reservedThreads: 1, commands: { ${cmds.join(", ")} } });`,
      );
    }
    const p = join(dir, `schema${f}.ts`);
    writeFileSync(p, lines.join("\n") + "\n");
    paths.push(p);
  }
  return paths;
}

export function codegenBench(): string {
  const schemas = corpus(10, 50, 10);
  // Baseline: the TypeScript compiler type-checking the same schema files (the floor for anything that reads types).
  let t0 = performance.now();
  const project = schemaProject();
  for (const s of schemas) project.addSourceFileAtPath(s);
  const diagnostics = project.getPreEmitDiagnostics().length;
  const typecheckMs = performance.now() - t0;
  if (diagnostics) throw new Error(`benchmark corpus has ${diagnostics} type errors`);
  t0 = performance.now();
  const { files } = generate({ schemas, outDir: join(tmpdir(), "omq-bench-out") });
  const generateMs = performance.now() - t0;
  const lines = files.reduce((n, f) => n + f.content.split("\n").length, 0);
  return [
    "### Code generation",
    "",
    "| measurement | value |",
    "|---|---|",
    `| omq-gen: 500 commands in 50 categories (10 files), parse + validate + emit | ${(generateMs / 1000).toFixed(2)} s (target < 5 s), ${lines.toLocaleString("en-US")} lines out |`,
    `| baseline: TypeScript type-check of the same schema files | ${(typecheckMs / 1000).toFixed(2)} s |`,
    `| omq-gen / type-check | ${(generateMs / typecheckMs).toFixed(1)}x |`,
  ].join("\n");
}
