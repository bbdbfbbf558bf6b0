// Jest runs each test file in its own realm, whose Symbol lacks the `Symbol.dispose`/`Symbol.asyncDispose` that
// Node 20 defines in its main realm (as `Symbol.for("nodejs.…")`). Define them the same way, so that `await using`
// and the runtime's `[Symbol.asyncDispose]` behave as they do in an application.
const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
symbols.dispose ??= Symbol.for("nodejs.dispose");
symbols.asyncDispose ??= Symbol.for("nodejs.asyncDispose");
export {};
