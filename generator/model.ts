/** The validated model that the parser produces and the emitters consume. */

export type TypeModel =
  | { readonly kind: "string" | "number" | "bigint" | "boolean" | "bytes" | "void" | "frames" }
  | { readonly kind: "literals"; readonly values: readonly string[] }
  | { readonly kind: "array"; readonly element: TypeModel }
  | { readonly kind: "object"; readonly fields: readonly FieldModel[] }
  | { readonly kind: "ref"; readonly key: string };

export interface FieldModel {
  readonly name: string;
  readonly type: TypeModel;
  readonly optional: boolean;
  readonly doc: string | undefined;
}

/** A named interface or type alias declared in a schema file. */
export interface NamedTypeModel {
  /** `<file>#<name>`: unique across schema files. */
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly doc: string | undefined;
  readonly loc: Location;
  type: TypeModel;
}

export interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly lineText: string;
}

export interface CommandModel {
  readonly name: string;
  readonly request: boolean;
  readonly encoding: "bt" | "json" | "raw";
  readonly args: TypeModel;
  readonly result: TypeModel;
  readonly aliases: readonly string[];
  readonly doc: string | undefined;
  readonly loc: Location;
}

export interface CategoryModel {
  readonly name: string;
  /** The exported variable that declares it in the schema file. */
  readonly varName: string;
  readonly file: string;
  readonly access: { readonly auth: "none" | "basic" | "admin"; readonly remoteSN: boolean; readonly localSN: boolean };
  readonly reservedThreads: number;
  readonly maxQueue: number;
  /** The PascalCase base of its exported names, when not derived from the name (`hey google` → `HeyGoogle`). */
  readonly exportName: string | undefined;
  readonly doc: string | undefined;
  readonly commands: readonly CommandModel[];
  readonly loc: Location;
}

export interface SchemaFileModel {
  /** Path relative to the working directory, with forward slashes. */
  readonly path: string;
  readonly categories: readonly CategoryModel[];
}

export interface SchemaModel {
  readonly files: readonly SchemaFileModel[];
  readonly types: ReadonlyMap<string, NamedTypeModel>;
}
