import { Node } from "ts-morph";

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
  const ranges = node.getLeadingCommentRanges();
  const last = ranges[ranges.length - 1];
  if (!last) return undefined;
  const raw = last.getText();
  if (!raw.startsWith("/**")) return undefined;
  const text = raw
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd())
    .join("\n")
    .trim();
  return text || undefined;
}
