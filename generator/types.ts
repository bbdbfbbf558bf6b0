import { Node, ts, type Type } from "ts-morph";
import { displayPath, errorAt, locate, type SchemaError } from "./errors.js";
import type { FieldModel, NamedTypeModel, TypeModel } from "./model.js";
import { docOf } from "./docs.js";

/**
 * Converts TypeScript types (through the type checker) into the model. Interfaces and type aliases declared in schema
 * files become named types (`ref`), converted once; everything else is converted structurally. Unsupported types are
 * reported at the node that uses them.
 */
export class TypeConverter {
  readonly named = new Map<string, NamedTypeModel>();

  constructor(
    private readonly schemaFiles: ReadonlySet<string>,
    private readonly errors: SchemaError[],
  ) {}

  /** Converts a top-level argument or result type (where `void` is allowed). */
  convertTop(type: Type, at: Node): TypeModel {
    if (type.getFlags() & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) return { kind: "void" };
    return this.convert(type, at);
  }

  convert(type: Type, at: Node, skipAlias = false): TypeModel {
    const named = this.namedDeclaration(type, skipAlias);
    if (named) return this.ref(named.name, named.node, at);
    const flags = type.getFlags();
    if (type.isString()) return { kind: "string" };
    if (type.isNumber()) return { kind: "number" };
    if (flags & ts.TypeFlags.BigInt) return { kind: "bigint" };
    if (type.isBoolean()) return { kind: "boolean" };
    if (type.isStringLiteral()) return { kind: "literals", values: [String(type.getLiteralValue())] };
    if (type.getSymbol()?.getName() === "Uint8Array") return { kind: "bytes" };
    if (type.isArray()) return { kind: "array", element: this.convert(type.getArrayElementTypeOrThrow(), at) };
    if (type.isUnion()) {
      const parts = type.getUnionTypes();
      if (parts.every((t) => t.isStringLiteral()))
        return {
          kind: "literals",
          values: sourceOrder(
            parts.map((t) => String(t.getLiteralValue())),
            at,
          ),
        };
      return this.unsupported(at, type, "only unions of string literals are supported");
    }
    if (type.isAny() || type.isUnknown()) return this.unsupported(at, type, "give it a concrete type");
    if (type.isTuple()) return this.unsupported(at, type, "use an array or an object instead of a tuple");
    if (
      type.isObject() &&
      !type.getCallSignatures().length &&
      !type.getStringIndexType() &&
      !type.getNumberIndexType()
    ) {
      const sym = type.getSymbol();
      const decl = sym?.getDeclarations()[0];
      if (decl && !this.schemaFiles.has(decl.getSourceFile().getFilePath()) && sym.getName() !== "__type")
        return this.unsupported(at, type, "built-in and library object types are not supported");
      return { kind: "object", fields: this.fields(type, at) };
    }
    return this.unsupported(at, type, "it cannot be bt-encoded");
  }

  private fields(type: Type, at: Node): FieldModel[] {
    return type.getProperties().map((prop) => {
      const decl = prop.getValueDeclaration() ?? prop.getDeclarations()[0];
      const node = decl ?? at;
      const typeNode = decl && Node.isPropertySignature(decl) ? decl.getTypeNode() : undefined;
      const optional = prop.isOptional();
      let t = typeNode ? typeNode.getType() : prop.getTypeAtLocation(at);
      if (optional) t = t.getNonNullableType();
      if (decl && Node.isMethodSignature(decl))
        return {
          name: prop.getName(),
          type: this.unsupported(decl, t, "methods cannot be sent"),
          optional,
          doc: undefined,
        };
      return {
        name: prop.getName(),
        type: this.convert(t, typeNode ?? node),
        optional,
        doc: decl ? docOf(decl) : undefined,
      };
    });
  }

  /** An interface or type alias declared in a schema file, if `type` names one. */
  private namedDeclaration(type: Type, skipAlias: boolean): { name: string; node: Node } | undefined {
    const alias = skipAlias ? undefined : type.getAliasSymbol();
    const sym = alias ?? (type.isInterface() ? type.getSymbol() : undefined);
    const decl = sym?.getDeclarations()[0];
    if (!sym || !decl || !this.schemaFiles.has(decl.getSourceFile().getFilePath())) return undefined;
    return { name: sym.getName(), node: decl };
  }

  private ref(name: string, decl: Node, at: Node): TypeModel {
    const file = displayPath(decl.getSourceFile().getFilePath());
    const key = `${file}#${name}`;
    if (!this.named.has(key)) {
      const nameNode =
        Node.isInterfaceDeclaration(decl) || Node.isTypeAliasDeclaration(decl) ? decl.getNameNode() : decl;
      const model: NamedTypeModel = {
        key,
        name,
        file,
        doc: docOf(decl),
        loc: locate(nameNode),
        type: { kind: "void" },
      };
      this.named.set(key, model); // registered before converting, so recursive types terminate
      if (Node.isInterfaceDeclaration(decl)) {
        if (decl.getTypeParameters().length)
          model.type = this.unsupported(decl, decl.getType(), "generic interfaces are not supported");
        else model.type = { kind: "object", fields: this.fields(decl.getType(), decl) };
      } else if (Node.isTypeAliasDeclaration(decl)) {
        if (decl.getTypeParameters().length)
          model.type = this.unsupported(decl, decl.getType(), "generic type aliases are not supported");
        else model.type = this.convert(decl.getType(), decl.getTypeNode() ?? decl, true);
      } else model.type = this.unsupported(at, decl.getType(), "only interfaces and type aliases can be named types");
    }
    return { kind: "ref", key };
  }

  private unsupported(at: Node, type: Type, why: string): TypeModel {
    this.errors.push(errorAt(at, `unsupported type '${type.getText(at)}': ${why}`));
    return { kind: "void" };
  }
}

/**
 * The checker orders a union's members by when their types were created, not as written; the schema's order is the
 * one users see and expect, so values are ordered by their first appearance in the type's own syntax.
 */
function sourceOrder(values: string[], at: Node): string[] {
  const written: string[] = [];
  const visit = (n: Node): void => {
    if (Node.isLiteralTypeNode(n)) {
      const lit = n.getLiteral();
      if (Node.isStringLiteral(lit)) written.push(lit.getLiteralValue());
      return;
    }
    if (Node.isTypeReference(n)) return; // a named type: its own declaration gives its order
    n.forEachChild(visit);
  };
  visit(at);
  const rank = (v: string): number => {
    const i = written.indexOf(v);
    return i < 0 ? written.length + values.indexOf(v) : i;
  };
  return [...values].sort((a, b) => rank(a) - rank(b));
}
