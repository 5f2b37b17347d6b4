// Flat config for the whole workspace. typescript-eslint parses with TypeScript 6 (its supported range);
// type checking itself is TypeScript 7's job in `npm run build`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/generated/**', '**/node_modules/**', '.toolchain/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // Off on purpose: Nest injects by the runtime class named in a constructor's parameter types; a type-only
      // import of that class erases the metadata and breaks dependency injection.
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Scripts talk to a terminal; console is their interface.
    files: ['scripts/**', 'bench/**', '**/bin/**', '**/cli.ts'],
    rules: { 'no-console': 'off' },
  },
);
