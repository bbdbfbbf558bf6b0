/** Identifiers for generated code: derived from schema names, never clashing with each other or with user types. */

const JS_RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await any boolean number string symbol " +
    "bigint object undefined never unknown"
  ).split(" "),
);

function words(name: string): string[] {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean);
}

export function pascal(name: string): string {
  const s = words(name)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  return !s ? "X" : /^[0-9]/.test(s) ? `_${s}` : s;
}

export function camel(name: string): string {
  const p = pascal(name);
  return p.startsWith("_") ? p : p[0]!.toLowerCase() + p.slice(1);
}

/** A scope of names: `claim` returns `base`, or `base_2`, `base_3`… when taken or reserved. */
export class Scope {
  private readonly used = new Set<string>();
  constructor(
    reserved: Iterable<string> = [],
    /** Top-level identifiers cannot be keywords; class members and interface members can. */
    private readonly avoidKeywords = true,
  ) {
    for (const r of reserved) this.used.add(r);
  }
  claim(base: string): string {
    let name = base;
    for (let i = 2; this.used.has(name) || (this.avoidKeywords && JS_RESERVED.has(name)); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
