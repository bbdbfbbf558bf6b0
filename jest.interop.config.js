/** The C++ OxenMQ interop suite (npm run test:interop); see test/interop/run.sh. */
import base from "./jest.config.js";

export default {
  ...base,
  testMatch: ["<rootDir>/test/interop/**/*.test.ts"],
  testPathIgnorePatterns: [],
  testTimeout: 30000,
};
