import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "*/dist/**",
      "*/bin/**",
      "node_modules/**",
      "coverage/**",
      "docs/api/**",
      "*.js",
      "**/*.mjs",
      "generated/**",
      "test/fixtures/generated/**",
      "test/consumer/**",
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    // Dependency direction (style.md): the runtime never imports the generator or generated code.
    files: ["runtime/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/generator/**", "**/generated/**"], message: "runtime/ must not import generator/ or generated/" }] },
      ],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/unbound-method": "off", "@typescript-eslint/require-await": "off" },
  },
);
