/**
 * `@oxenmq-ts/runtime/constants`: limits shared with the code generator, in a module that loads nothing else (the
 * generator checks schemas against them without loading zeromq).
 *
 * @module @oxenmq-ts/runtime/constants
 */

/** Longest category name (characters), as in C++ OxenMQ. */
export const MAX_CATEGORY_LENGTH = 50;
/** Longest command name within a category (characters), as in C++ OxenMQ. */
export const MAX_COMMAND_LENGTH = 200;
