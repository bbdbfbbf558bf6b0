/**
 * `@oxenmq-ts/runtime/constants`: limits shared with the code generator, in a module that loads nothing else (the
 * generator checks schemas against them without loading zeromq).
 *
 * @module @oxenmq-ts/runtime/constants
 */
export * from "./base/constants.js";
