import { MAX_CATEGORY_LENGTH, MAX_COMMAND_LENGTH } from "@oxenmq-ts/runtime/constants";
import { SchemaError } from "./errors.js";
import type { SchemaModel } from "./model.js";

/** The runtime's naming rules (docs/protocol.md#commands-and-access), checked at generation time so that registration cannot fail. */
export function validate(model: SchemaModel): SchemaError[] {
  const errors: SchemaError[] = [];
  const categories = new Map<string, string>();
  const fullNames = new Set<string>();
  for (const file of model.files)
    for (const cat of file.categories) {
      if (cat.name.length === 0 || cat.name.length > MAX_CATEGORY_LENGTH)
        errors.push(
          new SchemaError(cat.loc, `category name '${cat.name}' must be 1 to ${MAX_CATEGORY_LENGTH} characters`),
        );
      if (cat.name.includes("."))
        errors.push(new SchemaError(cat.loc, `category name '${cat.name}' must not contain '.'`));
      const prev = categories.get(cat.name);
      if (prev) errors.push(new SchemaError(cat.loc, `category '${cat.name}' is already declared at ${prev}`));
      else categories.set(cat.name, `${cat.loc.file}:${cat.loc.line}`);
      const names = new Set<string>();
      for (const cmd of cat.commands) {
        if (cmd.name.length === 0 || cmd.name.length > MAX_COMMAND_LENGTH)
          errors.push(
            new SchemaError(cmd.loc, `command name '${cmd.name}' must be 1 to ${MAX_COMMAND_LENGTH} characters`),
          );
        if (names.has(cmd.name))
          errors.push(new SchemaError(cmd.loc, `command '${cat.name}.${cmd.name}' is declared twice`));
        names.add(cmd.name);
        fullNames.add(`${cat.name}.${cmd.name}`);
      }
    }
  const aliases = new Set<string>();
  for (const file of model.files)
    for (const cat of file.categories)
      for (const cmd of cat.commands)
        for (const alias of cmd.aliases) {
          const at = cmd.loc;
          if (alias.length === 0) errors.push(new SchemaError(at, `an alias of '${cat.name}.${cmd.name}' is empty`));
          else if (alias.startsWith(".")) errors.push(new SchemaError(at, `alias '${alias}' must not start with '.'`));
          else if (fullNames.has(alias))
            errors.push(new SchemaError(at, `alias '${alias}' clashes with the command of that name`));
          else if (aliases.has(alias)) errors.push(new SchemaError(at, `alias '${alias}' is declared twice`));
          aliases.add(alias);
        }
  return errors;
}
