import { toAccess, type Access, type AccessSpec } from "../auth/access.js";
import { MAX_CATEGORY_LENGTH, MAX_COMMAND_LENGTH } from "../base/constants.js";
import { OmqError } from "../base/errors.js";
import type { SlotGroup } from "../dispatch/scheduler.js";
import type { Message } from "./message.js";

/** A command handler. It holds its scheduler slot until the returned promise settles (docs/scheduling.md). */
export type CommandHandler = (msg: Message) => unknown;

export interface CategoryOptions {
  /** Slots only this category may use (docs/scheduling.md#slots-and-admission). Default 0. */
  readonly reservedThreads?: number;
  /** Commands that may wait for a slot; -1 unlimited, 0 never queue. Default 200. */
  readonly maxQueue?: number;
}

export interface CommandOptions {
  /**
   * The command's replies start with a status frame (`[200][payload…]` or `[status][message]`), as typed commands'
   * do. The runtime may then answer for it: a request that arrives while the instance closes, or that was queued
   * and could not run before the close timeout, is answered `503 shutting down` rather than dropped.
   */
  readonly statusFirst?: boolean;
}

/** A category: its access policy and commands; the scheduler keeps its slot counts (`SlotGroup`). */
export interface Category extends SlotGroup {
  readonly access: Access;
  readonly commands: Map<string, CommandDef>;
}

export interface CommandDef {
  readonly category: Category;
  readonly name: string;
  readonly handler: CommandHandler;
  readonly isRequest: boolean;
  readonly statusFirst: boolean;
}

const fail = (msg: string): OmqError => new OmqError("INVALID_ARGUMENT", msg);

/** Categories, commands and aliases, with the rules of docs/protocol.md#commands-and-access. */
export class CommandRegistry {
  readonly categories = new Map<string, Category>();
  private readonly aliases = new Map<string, string>();

  addCategory(name: string, access?: AccessSpec, options: CategoryOptions = {}): Category {
    if (name.length === 0 || name.length > MAX_CATEGORY_LENGTH)
      throw fail(`Invalid category name '${name}': must be 1 to ${MAX_CATEGORY_LENGTH} characters`);
    if (name.includes(".")) throw fail(`Invalid category name '${name}': must not contain '.'`);
    if (this.categories.has(name)) throw fail(`Category '${name}' already exists`);
    const reservedThreads = options.reservedThreads ?? 0;
    const maxQueue = options.maxQueue ?? 200;
    if (!Number.isInteger(reservedThreads) || reservedThreads < 0)
      throw fail(`reservedThreads must be a non-negative integer, got ${reservedThreads}`);
    if (!Number.isInteger(maxQueue) || maxQueue < -1) throw fail(`maxQueue must be an integer >= -1, got ${maxQueue}`);
    const cat: Category = {
      name,
      access: toAccess(access),
      reservedThreads,
      maxQueue,
      active: 0,
      queued: 0,
      commands: new Map(),
    };
    this.categories.set(name, cat);
    return cat;
  }

  addCommand(
    category: string,
    name: string,
    handler: CommandHandler,
    isRequest: boolean,
    options: CommandOptions = {},
  ): void {
    if (name.length === 0 || name.length > MAX_COMMAND_LENGTH)
      throw fail(`Invalid command name '${name}': must be 1 to ${MAX_COMMAND_LENGTH} characters`);
    const cat = this.categories.get(category);
    if (!cat) throw fail(`Cannot add command '${name}': unknown category '${category}'`);
    const full = `${category}.${name}`;
    if (this.aliases.has(full)) throw fail(`Cannot add command '${full}': it is already an alias`);
    if (cat.commands.has(name)) throw fail(`Command '${full}' already exists`);
    if (options.statusFirst && !isRequest)
      throw fail(`Command '${full}': statusFirst applies to request commands only`);
    cat.commands.set(name, { category: cat, name, handler, isRequest, statusFirst: options.statusFirst ?? false });
  }

  addAlias(from: string, to: string): void {
    if (from.length === 0) throw fail("Command alias must not be empty");
    if (from.startsWith(".")) throw fail(`Invalid command alias '${from}': must not start with '.'`);
    const dot = to.indexOf(".");
    if (dot <= 0) throw fail(`Invalid command alias target '${to}': must be category.command`);
    if (this.lookupDirect(from)) throw fail(`Command alias '${from}' would mask an existing command`);
    if (this.aliases.has(from)) throw fail(`Command alias '${from}' already exists`);
    this.aliases.set(from, to);
  }

  /** Resolves a command frame (alias first) as `get_command` does; undefined means UNKNOWNCOMMAND. */
  lookup(name: string): CommandDef | undefined {
    if (name.length > MAX_CATEGORY_LENGTH + 1 + MAX_COMMAND_LENGTH) return undefined;
    return this.lookupDirect(this.aliases.get(name) ?? name);
  }

  private lookupDirect(name: string): CommandDef | undefined {
    const dot = name.indexOf(".");
    if (dot <= 0) return undefined;
    return this.categories.get(name.slice(0, dot))?.commands.get(name.slice(dot + 1));
  }
}
