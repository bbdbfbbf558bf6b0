import {
  Node,
  SyntaxKind,
  ts,
  type CallExpression,
  type Expression,
  type ObjectLiteralExpression,
  type Project,
  type SourceFile,
} from "ts-morph";
import { docOf } from "./docs.js";
import { displayPath, errorAt, locate, SchemaError } from "./errors.js";
import type { CategoryModel, CommandModel, SchemaFileModel, SchemaModel, TypeModel } from "./model.js";
import { TypeConverter } from "./types.js";

type Auth = CategoryModel["access"]["auth"];
const AUTH = new Set(["none", "basic", "admin"]);
const ENCODINGS = new Set(["bt", "json", "raw"]);

/**
 * Reads schema files into the model (pass 1 of the pipeline). TypeScript errors in schema files (an unknown type
 * name, a typo) are reported first, as schema errors with their location.
 */
export function parseSchemas(
  project: Project,
  files: readonly SourceFile[],
): { model: SchemaModel; errors: SchemaError[] } {
  const errors: SchemaError[] = [];
  for (const sf of files) {
    for (const d of sf.getPreEmitDiagnostics()) {
      const start = d.getStart();
      const node = start !== undefined ? sf.getDescendantAtPos(start) : undefined;
      const message =
        typeof d.getMessageText() === "string"
          ? (d.getMessageText() as string)
          : (d.getMessageText() as { getMessageText(): string }).getMessageText();
      if (d.getSourceFile()?.getFilePath() === sf.getFilePath() && node) errors.push(errorAt(node, message));
    }
  }
  const converter = new TypeConverter(new Set(files.map((f) => f.getFilePath())), errors);
  const parsed: SchemaFileModel[] = files.map((sf) => ({
    path: displayPath(sf.getFilePath()),
    categories: categoriesOf(sf, converter, errors),
  }));
  void project;
  return { model: { files: parsed, types: converter.named }, errors };
}

function categoriesOf(sf: SourceFile, conv: TypeConverter, errors: SchemaError[]): CategoryModel[] {
  const out: CategoryModel[] = [];
  for (const stmt of sf.getVariableStatements()) {
    for (const decl of stmt.getDeclarations()) {
      const init = decl.getInitializer();
      if (!init || !Node.isCallExpression(init) || init.getExpression().getText() !== "category") continue;
      if (!stmt.isExported()) {
        errors.push(errorAt(decl, "a category must be exported (export const ...)"));
        continue;
      }
      const cat = parseCategory(init, decl.getName(), docOf(stmt), conv, errors);
      if (cat) out.push(cat);
    }
  }
  return out;
}

function stringLiteral(e: Node | undefined): string | undefined {
  return e && (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) ? e.getLiteralValue() : undefined;
}

function integerLiteral(e: Expression): number | undefined {
  if (Node.isNumericLiteral(e)) return e.getLiteralValue();
  if (Node.isPrefixUnaryExpression(e) && e.getOperatorToken() === SyntaxKind.MinusToken) {
    const inner = e.getOperand();
    if (Node.isNumericLiteral(inner)) return -inner.getLiteralValue();
  }
  return undefined;
}

function booleanLiteral(e: Expression): boolean | undefined {
  return e.getKind() === SyntaxKind.TrueKeyword ? true : e.getKind() === SyntaxKind.FalseKeyword ? false : undefined;
}

/** The properties of an object literal as name → initializer; anything else is reported. */
function props(obj: ObjectLiteralExpression, errors: SchemaError[]): Map<string, { node: Node; value: Expression }> {
  const map = new Map<string, { node: Node; value: Expression }>();
  for (const p of obj.getProperties()) {
    if (!Node.isPropertyAssignment(p)) {
      errors.push(errorAt(p, "write each entry as 'name: value' (no spreads, shorthands or methods)"));
      continue;
    }
    const nameNode = p.getNameNode();
    const name = stringLiteral(nameNode) ?? (Node.isIdentifier(nameNode) ? nameNode.getText() : undefined);
    if (name === undefined) {
      errors.push(errorAt(nameNode, "property names must be identifiers or string literals"));
      continue;
    }
    map.set(name, { node: p, value: p.getInitializerOrThrow() });
  }
  return map;
}

function parseCategory(
  call: CallExpression,
  varName: string,
  doc: string | undefined,
  conv: TypeConverter,
  errors: SchemaError[],
): CategoryModel | undefined {
  const [nameArg, specArg] = call.getArguments();
  const name = stringLiteral(nameArg);
  if (name === undefined) {
    errors.push(errorAt(nameArg ?? call, "the category name must be a string literal"));
    return undefined;
  }
  if (!specArg || !Node.isObjectLiteralExpression(specArg)) {
    errors.push(errorAt(specArg ?? call, "the category spec must be an object literal"));
    return undefined;
  }
  const spec = props(specArg, errors);
  let access: CategoryModel["access"] = { auth: "none", remoteSN: false, localSN: false };
  const accessNode = spec.get("access")?.value;
  if (accessNode) {
    const level = stringLiteral(accessNode);
    if (level !== undefined) {
      if (AUTH.has(level)) access = { ...access, auth: level as Auth };
      else errors.push(errorAt(accessNode, `unknown auth level '${level}': use "none", "basic" or "admin"`));
    } else if (Node.isObjectLiteralExpression(accessNode)) {
      for (const [key, { node, value }] of props(accessNode, errors)) {
        if (key === "auth") {
          const l = stringLiteral(value);
          if (l !== undefined && AUTH.has(l)) access = { ...access, auth: l as Auth };
          else errors.push(errorAt(value, `unknown auth level ${value.getText()}: use "none", "basic" or "admin"`));
        } else if (key === "remoteSN" || key === "localSN") {
          const b = booleanLiteral(value);
          if (b === undefined) errors.push(errorAt(value, `${key} must be true or false`));
          else access = { ...access, [key]: b };
        } else errors.push(errorAt(node, `unknown access option '${key}' (auth, remoteSN, localSN)`));
      }
    } else errors.push(errorAt(accessNode, "access must be an auth level string or { auth, remoteSN, localSN }"));
  }
  const intOption = (key: string, def: number, min: number): number => {
    const e = spec.get(key)?.value;
    if (!e) return def;
    const n = integerLiteral(e);
    if (n === undefined || !Number.isInteger(n) || n < min) {
      errors.push(errorAt(e, `${key} must be an integer literal >= ${min}`));
      return def;
    }
    return n;
  };
  const reservedThreads = intOption("reservedThreads", 0, 0);
  const maxQueue = intOption("maxQueue", 200, -1);
  let exportName: string | undefined;
  const exportNode = spec.get("exportName")?.value;
  if (exportNode) {
    exportName = stringLiteral(exportNode);
    if (exportName === undefined || !/^[A-Z][A-Za-z0-9]*$/.test(exportName)) {
      errors.push(errorAt(exportNode, 'exportName must be a string literal in PascalCase, such as "HeyGoogle"'));
      exportName = undefined;
    }
  }
  for (const [key, { node }] of spec)
    if (!["access", "reservedThreads", "maxQueue", "exportName", "commands"].includes(key))
      errors.push(
        errorAt(node, `unknown category option '${key}' (access, reservedThreads, maxQueue, exportName, commands)`),
      );
  const commandsNode = spec.get("commands")?.value;
  const commands: CommandModel[] = [];
  if (!commandsNode || !Node.isObjectLiteralExpression(commandsNode))
    errors.push(
      errorAt(commandsNode ?? specArg, "commands must be an object literal of request<...>() and command<...>()"),
    );
  else
    for (const [cmd, { node, value }] of props(commandsNode, errors)) {
      const c = parseCommand(cmd, node, value, conv, errors);
      if (c) commands.push(c);
    }
  return {
    name,
    varName,
    file: displayPath(call.getSourceFile().getFilePath()),
    access,
    reservedThreads,
    maxQueue,
    exportName,
    doc,
    commands,
    loc: locate(nameArg!),
  };
}

function parseCommand(
  name: string,
  node: Node,
  value: Expression,
  conv: TypeConverter,
  errors: SchemaError[],
): CommandModel | undefined {
  const callee = Node.isCallExpression(value) ? value.getExpression().getText() : "";
  if (!Node.isCallExpression(value) || (callee !== "request" && callee !== "command")) {
    errors.push(errorAt(value, "a command must be declared with request<Args, Result>() or command<Args>()"));
    return undefined;
  }
  const isRequest = callee === "request";
  let encoding: CommandModel["encoding"] = "bt";
  const aliases: string[] = [];
  const opts = value.getArguments()[0];
  if (opts) {
    if (!Node.isObjectLiteralExpression(opts)) errors.push(errorAt(opts, "command options must be an object literal"));
    else
      for (const [key, { node: pn, value: pv }] of props(opts, errors)) {
        if (key === "encoding") {
          const e = stringLiteral(pv);
          if (e !== undefined && ENCODINGS.has(e)) encoding = e as CommandModel["encoding"];
          else errors.push(errorAt(pv, `unknown encoding ${pv.getText()}: use "bt", "json" or "raw"`));
        } else if (key === "aliases") {
          if (!Node.isArrayLiteralExpression(pv))
            errors.push(errorAt(pv, "aliases must be an array of string literals"));
          else
            for (const el of pv.getElements()) {
              const a = stringLiteral(el);
              if (a === undefined) errors.push(errorAt(el, "aliases must be string literals"));
              else aliases.push(a);
            }
        } else errors.push(errorAt(pn, `unknown command option '${key}' (encoding, aliases)`));
      }
  }
  const typeArgs = value.getTypeArguments();
  const limit = isRequest ? 2 : 1;
  if (typeArgs.length > limit)
    errors.push(errorAt(typeArgs[limit]!, `${callee}<> takes at most ${limit} type argument${limit > 1 ? "s" : ""}`));
  const typeOf = (i: number): TypeModel => {
    const t = typeArgs[i];
    if (!t) return { kind: "void" };
    if (encoding === "raw") {
      const ty = t.getType();
      const isFrames = ty.isArray() && ty.getArrayElementTypeOrThrow().getSymbol()?.getName() === "Uint8Array";
      if (!isFrames && !(ty.getFlags() & ts.TypeFlags.Void))
        errors.push(errorAt(t, `raw commands take Frames (Uint8Array[]), not '${t.getText()}'`));
      return { kind: "frames" };
    }
    return conv.convertTop(t.getType(), t);
  };
  return {
    name,
    request: isRequest,
    encoding,
    args: typeOf(0),
    result: isRequest ? typeOf(1) : { kind: "void" },
    aliases,
    doc: docOf(node),
    loc: locate(Node.isPropertyAssignment(node) ? node.getNameNode() : node),
  };
}
