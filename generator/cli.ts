#!/usr/bin/env node
import { watch } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { generate, SchemaErrors } from "./index.js";

const USAGE = `Usage: omq-gen --out DIR [--runtime SPECIFIER] [--check | --watch] SCHEMA.ts...
  --out DIR       where to write the generated modules (one per schema file)
  --runtime SPEC  module specifier of the runtime entry as seen from DIR (default: this package's runtime)
  --check         write nothing; exit 1 if a generated file is missing or differs (for CI)
  --watch         regenerate whenever a schema file changes`;

async function runOnce(schemas: string[], out: string, runtime: string | undefined, check: boolean): Promise<number> {
  const { files } = generate({ schemas, outDir: out, ...(runtime ? { runtimeImport: runtime } : {}) });
  let stale = 0;
  for (const f of files) {
    const current = await readFile(f.path, "utf8").catch(() => undefined);
    if (current === f.content) continue;
    if (check) {
      process.stderr.write(`${f.path} is ${current === undefined ? "missing" : "out of date"}\n`);
      stale++;
      continue;
    }
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.content);
    process.stdout.write(`wrote ${f.path}\n`);
  }
  if (check && stale) process.stderr.write(`generated code is stale: run \`npm run codegen\`\n`);
  return stale ? 1 : 0;
}

function report(err: unknown): number {
  if (err instanceof SchemaErrors) {
    process.stderr.write(`${err.message}\n\n${err.errors.length} schema error${err.errors.length > 1 ? "s" : ""}\n`);
    return 1;
  }
  process.stderr.write(`omq-gen internal error (please report): ${err instanceof Error ? err.stack : String(err)}\n`);
  return 2;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      runtime: { type: "string" },
      check: { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.out || positionals.length === 0) {
    process.stdout.write(USAGE + "\n");
    return values.help ? 0 : 2;
  }
  const once = (): Promise<number> => runOnce(positionals, values.out!, values.runtime, values.check).catch(report);
  if (!values.watch) return once();
  // Watch before the first run, so that an edit made while it runs is not missed; watch the folders, because editors
  // that save by renaming end a watch on the file itself.
  let timer: NodeJS.Timeout | undefined;
  const names = new Set(positionals.map((f) => basename(f)));
  for (const d of new Set(positionals.map((f) => dirname(f))))
    watch(d, (_event, file) => {
      if (file && !names.has(file.toString())) return;
      clearTimeout(timer);
      timer = setTimeout(() => void once(), 100);
    });
  await once();
  process.stdout.write("watching for changes…\n");
  return new Promise<number>(() => {});
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(report(err)),
);
