/** Limits shared with the code generator (the `@oxenmq-ts/runtime/constants` entry). */

/** Longest category name (characters), as in C++ OxenMQ. */
export const MAX_CATEGORY_LENGTH = 50;
/** Longest command name within a category (characters), as in C++ OxenMQ. */
export const MAX_COMMAND_LENGTH = 200;
