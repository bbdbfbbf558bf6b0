/**
 * `@oxenmq-ts/codegen`: the code generator behind `omq-gen`, for programs that generate code themselves (most projects run
 * `omq-gen` with an `omq-gen.config.json` instead).
 *
 * @module @oxenmq-ts/codegen
 */
import { readFileSync } from "node:fs";
import { dirname, join, posix, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";
import { emitSchemaFile, type OutputFile } from "./emit.js";
import { SchemaErrors } from "./errors.js";
import type { SchemaModel } from "./model.js";
import { parseSchemas } from "./parse.js";
import { plan } from "./plan.js";
import { validate } from "./validate.js";

export { SchemaError, SchemaErrors } from "./errors.js";
export type { OutputFile } from "./emit.js";

const here = dirname(fileURLToPath(import.meta.url));
/** This package's manifest: generator/package.json, from the sources (generator/) or the build (generator/dist/). */
const manifest = [join(here, "package.json"), join(here, "..", "package.json")]
  .map((p) => {
    try {
      return JSON.parse(readFileSync(p, "utf8")) as { name?: string; version: string };
    } catch {
      return undefined;
    }
  })
  .find((m) => m?.name === "@oxenmq-ts/codegen")!;

export const GENERATOR_VERSION = manifest.version;

/** The module generated code imports the runtime from, by default: the runtime package's entry for generated code. */
export const DEFAULT_RUNTIME_IMPORT = "@oxenmq-ts/runtime/codegen";

export interface GenerateOptions {
  /** Schema files (paths). */
  readonly schemas: readonly string[];
  /** Output directory for the generated modules. */
  readonly outDir: string;
  /** Module specifier generated code imports the runtime from; default `@oxenmq-ts/runtime/codegen`. */
  readonly runtimeImport?: string;
  /** A ts-morph project to read the schemas from (tests use an in-memory one). */
  readonly project?: Project;
}

export function schemaProject(): Project {
  return new Project({
    compilerOptions: {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      noEmit: true,
    },
    skipAddingFilesFromTsConfig: true,
  });
}

/**
 * The generator pipeline: parse schema files → validated model → emitted files. Pure apart from reading the schemas;
 * only the CLI writes. Throws SchemaErrors (every mistake found, each with file:line:col) for invalid schemas.
 */
export function generate(options: GenerateOptions): { files: OutputFile[]; model: SchemaModel } {
  const project = options.project ?? schemaProject();
  const sources = options.schemas.map((p) => project.getSourceFile(p) ?? project.addSourceFileAtPath(p));
  const { model, errors } = parseSchemas(project, sources);
  errors.push(...validate(model));
  if (errors.length) throw new SchemaErrors(errors);
  const outDir = posix.normalize(options.outDir.split(sep).join("/"));
  const planned = plan(model, outDir);
  if (planned.errors.length) throw new SchemaErrors(planned.errors);
  const emitOptions = {
    outDir,
    runtimeImport: options.runtimeImport ?? DEFAULT_RUNTIME_IMPORT,
    generatorVersion: GENERATOR_VERSION,
  };
  return { files: model.files.map((f, i) => emitSchemaFile(f, planned.files[i]!, model, emitOptions)), model };
}
