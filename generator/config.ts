import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** The file omq-gen looks for in the working folder and its parents. */
export const CONFIG_FILE = "omq-gen.config.json";

/** `omq-gen.config.json`: what to generate, so that `omq-gen`, `--check` and `--watch` need no arguments. */
export interface GeneratorConfig {
  /** Schema files, or patterns with `*` (within a folder) and `**` (any folders), relative to the config file. */
  readonly schemas: readonly string[];
  /** Output folder, relative to the config file. */
  readonly out: string;
  /** Module the generated code imports the runtime from (default `@oxenmq-ts/runtime/codegen`). */
  readonly runtime?: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The nearest config file at or above `from`, if any. */
export function findConfig(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Reads and checks a config file; every mistake is a ConfigError that names the file and the key. */
export function readConfig(path: string): GeneratorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ConfigError(`${path}: expected a JSON object with "schemas" and "out"`);
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!["schemas", "out", "runtime", "$schema"].includes(key))
      throw new ConfigError(`${path}: unknown key "${key}" (schemas, out, runtime)`);
  const schemas = typeof o.schemas === "string" ? [o.schemas] : o.schemas;
  if (!Array.isArray(schemas) || schemas.length === 0 || !schemas.every((s) => typeof s === "string" && s))
    throw new ConfigError(`${path}: "schemas" must be a file or pattern, or a non-empty array of them`);
  if (typeof o.out !== "string" || !o.out) throw new ConfigError(`${path}: "out" must be the output folder`);
  if (o.runtime !== undefined && (typeof o.runtime !== "string" || !o.runtime))
    throw new ConfigError(`${path}: "runtime" must be a module specifier`);
  return { schemas: schemas as string[], out: o.out, ...(o.runtime ? { runtime: o.runtime } : {}) };
}

/**
 * Expands schema patterns relative to `base` into files (sorted, relative to `base`, forward slashes). `*` and `?`
 * match within one path segment, `**` any number of folders. A pattern that matches nothing is an error: a silent
 * empty generation would look like success.
 */
export function expandSchemas(patterns: readonly string[], base: string): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const before = found.size;
    const segments = pattern.split(/[\\/]+/).filter((s) => s && s !== ".");
    walk(resolve(base), segments, (file) => found.add(relative(base, file).split(sep).join("/")));
    if (found.size === before) throw new ConfigError(`no schema file matches "${pattern}" (in ${resolve(base)})`);
  }
  return [...found].sort();
}

function walk(dir: string, segments: string[], hit: (file: string) => void): void {
  const [head, ...rest] = segments;
  if (head === undefined) return;
  if (head === "**") {
    walk(dir, rest, hit);
    for (const d of entries(dir)) if (d.dir) walk(join(dir, d.name), segments, hit);
    return;
  }
  if (!/[*?]/.test(head)) {
    const path = join(dir, head);
    if (rest.length === 0) {
      if (isFile(path)) hit(path);
    } else walk(path, rest, hit);
    return;
  }
  const re = new RegExp(`^${head.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, ".")}$`);
  for (const e of entries(dir)) {
    if (!re.test(e.name)) continue;
    if (rest.length === 0) {
      if (!e.dir) hit(join(dir, e.name));
    } else if (e.dir) walk(join(dir, e.name), rest, hit);
  }
}

function entries(dir: string): Array<{ name: string; dir: boolean }> {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.name !== "node_modules" && !e.name.startsWith("."))
      .map((e) => ({ name: e.name, dir: e.isDirectory() }));
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
