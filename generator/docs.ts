import { Node, ts } from "ts-morph";

/** The JSDoc text of a declaration (or of the `/** … *\/` comment right before a property), if any. */
export function docOf(node: Node): string | undefined {
  if (Node.isJSDocable(node)) {
    const text = node
      .getJsDocs()
      .map((d) => d.getDescription().trim())
      .filter(Boolean)
      .join("\n\n");
    if (text) return text;
  }
  // The compiler's own view: ts-morph leaves out a comment on the same line as the previous token (`{ /** doc */ x`).
  const text = node.getSourceFile().getFullText();
  const pos = node.getPos();
  const ranges = [...(ts.getTrailingCommentRanges(text, pos) ?? []), ...(ts.getLeadingCommentRanges(text, pos) ?? [])];
  const last = ranges[ranges.length - 1];
  if (!last) return undefined;
  const raw = text.slice(last.pos, last.end);
  if (!raw.startsWith("/**")) return undefined;
  const doc = raw
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd())
    .join("\n")
    .trim();
  return doc || undefined;
}
