import type { Node } from "ts-morph";
import type { Location } from "./model.js";
import { relative, sep } from "node:path";

/** A mistake in a schema file: reported as `file:line:col`, the offending line, and one sentence. No stack trace. */
export class SchemaError extends Error {
  override readonly name = "SchemaError";
  constructor(
    readonly loc: Location,
    readonly reason: string,
  ) {
    super(`${loc.file}:${loc.line}:${loc.column} - ${reason}`);
  }

  /** `file:line:col - error: reason` followed by a code frame with a caret under the column. */
  format(): string {
    const { file, line, column, lineText } = this.loc;
    const gutter = String(line).length;
    return [
      `${file}:${line}:${column} - error: ${this.reason}`,
      `${String(line).padStart(gutter)} | ${lineText}`,
      `${" ".repeat(gutter)} | ${" ".repeat(Math.max(0, column - 1))}^`,
    ].join("\n");
  }
}

/** Several schema errors at once (the generator reports all it finds, not just the first). */
export class SchemaErrors extends Error {
  override readonly name = "SchemaErrors";
  constructor(readonly errors: readonly SchemaError[]) {
    super(errors.map((e) => e.format()).join("\n\n"));
  }
}

export function displayPath(path: string): string {
  return relative(process.cwd(), path).split(sep).join("/") || path;
}

export function locate(node: Node): Location {
  const sf = node.getSourceFile();
  const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
  const lineText = sf.getFullText().split(/\r?\n/)[line - 1] ?? "";
  return { file: displayPath(sf.getFilePath()), line, column, lineText };
}

export function errorAt(node: Node, reason: string): SchemaError {
  return new SchemaError(locate(node), reason);
}
