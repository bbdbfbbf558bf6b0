import { posix } from "node:path";
import { SchemaError } from "./errors.js";
import type { CategoryModel, CommandModel, Location, SchemaModel, TypeModel } from "./model.js";
import { camel, pascal } from "./symbols.js";

/** The names one command gets in its category's client, handler interface and descriptor. */
export interface CommandNames {
  readonly cmd: CommandModel;
  /** Method of the client class and the handler interface. */
  readonly method: string;
  /** Exported interface of inline object arguments / results, when the schema writes them inline. */
  readonly args: string | undefined;
  readonly result: string | undefined;
}

/** The exported names of one category. */
export interface CategoryNames {
  readonly category: CategoryModel;
  readonly client: string;
  readonly handlers: string;
  readonly register: string;
  readonly descriptor: string;
  readonly commands: readonly CommandNames[];
}

/** One output module: where it goes, and every name it exports. */
export interface FilePlan {
  readonly schemaPath: string;
  readonly path: string;
  readonly categories: readonly CategoryNames[];
  /** Every exported identifier, for internal names to avoid. */
  readonly exported: ReadonlySet<string>;
}

/** Members a generated client or handler object must not define (`then` would make it awaitable). */
const RESERVED_MEMBERS = new Set(["constructor", "then", "omq", "conn", "toString", "valueOf", "hasOwnProperty"]);

/** Where a schema file's generated module goes: its base name in the output folder. */
export function outputPath(schemaPath: string, outDir: string): string {
  return posix.join(outDir.split("\\").join("/"), posix.basename(schemaPath).replace(/\.(c|m)?ts$/, "") + ".ts");
}

interface Owner {
  readonly what: string;
  readonly loc: Location;
}

const FIRST_LINE = (file: string): Location => ({ file, line: 1, column: 1, lineText: "" });

/**
 * Pass 2 of the pipeline (after parsing, before emitting): decides every output file and every exported name.
 * Names depend only on what they name (a category's own name or `exportName`, a command's name, a schema type's
 * name), never on declaration order, so adding or reordering categories or files cannot rename an existing API.
 * Where two things would get the same output file or the same exported name, that is a schema error naming both.
 */
export function plan(model: SchemaModel, outDir: string): { files: FilePlan[]; errors: SchemaError[] } {
  const errors: SchemaError[] = [];
  const byPath = new Map<string, string>();
  for (const f of model.files) {
    const path = outputPath(f.path, outDir);
    const other = byPath.get(path);
    if (other !== undefined)
      errors.push(
        new SchemaError(
          FIRST_LINE(f.path),
          `${f.path} and ${other} would both generate ${path}; rename one of them, or generate them into different folders`,
        ),
      );
    else byPath.set(path, f.path);
  }

  const files = model.files.map((f): FilePlan => {
    // Every exported identifier of this module, with what claims it (a type, a category, a command's inline type).
    const claims = new Map<string, Owner[]>();
    const claim = (name: string, owner: Owner): string => {
      const list = claims.get(name) ?? [];
      if (!list.includes(owner)) list.push(owner);
      claims.set(name, list);
      return name;
    };
    for (const t of model.types.values()) {
      if (t.file !== f.path) continue;
      const owner: Owner = { what: `type ${t.name}`, loc: t.loc };
      claim(t.name, owner);
      claim(`${t.name}$codec`, owner);
    }
    const categories = f.categories.map((cat): CategoryNames => {
      const P = cat.exportName ?? pascal(cat.name);
      const c = P.startsWith("_") ? P : P[0]!.toLowerCase() + P.slice(1);
      const owner: Owner = { what: `category '${cat.name}'`, loc: cat.loc };
      const methods = new Map<string, CommandModel>();
      const commands = cat.commands.map((cmd): CommandNames => {
        let method = camel(cmd.name);
        if (RESERVED_MEMBERS.has(method)) method = `${method}_`;
        const other = methods.get(method);
        if (other)
          errors.push(
            new SchemaError(
              cmd.loc,
              `commands '${other.name}' and '${cmd.name}' of category '${cat.name}' would both be the method '${method}'; rename one`,
            ),
          );
        methods.set(method, cmd);
        const M = pascal(method);
        const io = (t: TypeModel, suffix: string): string | undefined =>
          t.kind === "object" ? claim(`${P}${M}${suffix}`, owner) : undefined;
        return { cmd, method, args: io(cmd.args, "Args"), result: io(cmd.result, "Result") };
      });
      return {
        category: cat,
        client: claim(`${P}Client`, owner),
        handlers: claim(`${P}Handlers`, owner),
        register: claim(`register${P}`, owner),
        descriptor: claim(`${c}Category`, owner),
        commands,
      };
    });
    // One error per claimant of each clash, listing the names it shares with the others.
    const clashes = new Map<string, { owners: Owner[]; names: string[] }>();
    for (const [name, owners] of claims) {
      if (owners.length < 2) continue;
      const k = owners.map((o) => `${o.loc.file}:${o.loc.line}:${o.loc.column}`).join("|");
      const c = clashes.get(k) ?? { owners, names: [] };
      c.names.push(name);
      clashes.set(k, c);
    }
    for (const { owners, names } of clashes.values())
      for (const o of owners) {
        const others = owners.filter((x) => x !== o).map((x) => `${x.what} (${x.loc.file}:${x.loc.line})`);
        errors.push(
          new SchemaError(
            o.loc,
            `${o.what} and ${others.join(" and ")} would both export ${names.join(", ")}; ` +
              "rename one, or give the category an exportName",
          ),
        );
      }
    return { schemaPath: f.path, path: outputPath(f.path, outDir), categories, exported: new Set(claims.keys()) };
  });
  return { files, errors };
}
