#!/usr/bin/env node
import { watch } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, relative } from "node:path";
import { parseArgs } from "node:util";
import { CONFIG_FILE, ConfigError, expandSchemas, findConfig, readConfig } from "./config.js";
import { DEFAULT_RUNTIME_IMPORT, generate, SchemaErrors } from "./index.js";

const USAGE = `Usage: omq-gen [--check | --watch] [--config FILE]
       omq-gen [--check | --watch] --out DIR [--runtime SPECIFIER] SCHEMA.ts...

Generates typed clients and handler interfaces from schema files. With no schema files on the command line, it reads
${CONFIG_FILE} from the current folder or the nearest parent (or --config FILE):

  { "schemas": ["schemas/*.ts"], "out": "generated" }

  schemas         schema files or patterns (* within a folder, ** across folders), relative to the config file
  out             output folder (one module per schema file), relative to the config file
  runtime         module the generated code imports the runtime from (default ${DEFAULT_RUNTIME_IMPORT})

Options:
  --check         write nothing; exit 1 if a generated file is missing or differs (for CI)
  --watch         regenerate whenever a schema file changes
  --config FILE   read this config file instead of looking for ${CONFIG_FILE}
  --out DIR, --runtime SPECIFIER   as in the config, for schema files given on the command line`;

/** How the user ran us, without --check: what to tell them to run to regenerate. */
function regenerateCommand(): string {
  const args = process.argv.slice(2).filter((a) => a !== "--check");
  const command = ["omq-gen", ...args].join(" ");
  // Inside an npm script the bin is on the PATH; typed at a prompt it needs npx.
  return process.env.npm_lifecycle_event ? command : `npx ${command}`;
}

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
  if (check && stale) process.stderr.write(`generated code is stale: run \`${regenerateCommand()}\`\n`);
  else if (check) process.stdout.write(`generated code is up to date (${files.length} file${files.length === 1 ? "" : "s"})\n`);
  return stale ? 1 : 0;
}

function report(err: unknown): number {
  if (err instanceof SchemaErrors) {
    process.stderr.write(`${err.message}\n\n${err.errors.length} schema error${err.errors.length > 1 ? "s" : ""}\n`);
    return 1;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`omq-gen: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`omq-gen internal error (please report): ${err instanceof Error ? err.stack : String(err)}\n`);
  return 2;
}

interface Job {
  readonly schemas: string[];
  readonly out: string;
  readonly runtime: string | undefined;
}

/** What to generate: from the command line, or from the config file (paths relative to it, so we work from there). */
function job(values: { out?: string; runtime?: string; config?: string }, positionals: string[]): Job | undefined {
  if (positionals.length) {
    if (!values.out) throw new ConfigError("--out DIR is required with schema files on the command line");
    return { schemas: positionals, out: values.out, runtime: values.runtime };
  }
  const file = values.config ?? findConfig(process.cwd());
  if (!file) return undefined;
  const config = readConfig(file);
  const base = dirname(file);
  if (relative(process.cwd(), base)) process.chdir(base);
  return {
    schemas: expandSchemas(config.schemas, "."),
    out: values.out ?? config.out,
    runtime: values.runtime ?? config.runtime,
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      runtime: { type: "string" },
      config: { type: "string" },
      check: { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const j = job(values, positionals);
  if (!j) {
    process.stderr.write(
      `omq-gen: no schema files given, and no ${CONFIG_FILE} in ${process.cwd()} or its parents.\n\n${USAGE}\n`,
    );
    return 2;
  }
  const once = (): Promise<number> => runOnce(j.schemas, j.out, j.runtime, values.check).catch(report);
  if (!values.watch) return once();
  // Watch before the first run, so that an edit made while it runs is not missed; watch the folders, because editors
  // that save by renaming end a watch on the file itself.
  let timer: NodeJS.Timeout | undefined;
  const names = new Set(j.schemas.map((f) => basename(f)));
  for (const d of new Set(j.schemas.map((f) => dirname(f))))
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
