// Lint for the TypeScript of the engine, host functions, benchmarks and tests (not the guests: AssemblyScript
// is not TypeScript). Type-checked rules catch the bugs that matter in an engine: floating promises,
// misused promises, unsafe `any`.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "guest-sdk/**",
      "examples/**",
      "test/fixtures/**",
      "bench/guests/**",
      "bench/.build/**",
      "target/**",
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Rethrowing what a catch caught or an abort signal's reason (stored, then thrown later) is the
      // point in a few places; those values are unknown by type, not non-errors.
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
    },
  },
  // The plain-JavaScript scripts (scripts/, test/fuzz/) are in no tsconfig: linted without types.
  { files: ["**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  // The web console (console/): plain ES modules for the browser, in no tsconfig either.
  { files: ["console/**/*.js"], ...tseslint.configs.disableTypeChecked },
);
