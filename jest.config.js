/** Jest runs the TypeScript sources as native ESM (bencode 4 is ESM-only); ts-jest only transpiles,
 *  type-checking is `npm run typecheck`. */
export default {
  testEnvironment: "node",
  // The workspace packages (@oxenmq-ts/runtime, @oxenmq-ts/codegen) resolve to their TypeScript sources, as in the
  // repo's own type-checking: tests never depend on a stale build of them.
  testEnvironmentOptions: { customExportConditions: ["oxenmq-ts-source", "node", "node-addons"] },
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  setupFiles: ["<rootDir>/test/setup/symbols.ts"],
  // The C++ interop suite needs a C++ toolchain: `npm run test:interop` (jest.interop.config.js).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/interop/"],
  testTimeout: 20000,
};
