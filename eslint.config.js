// Lint rules: typescript-eslint's recommended set over every TypeScript source of ours.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  // generated code (proto-loader-gen-types, "do not edit") is judged by tsc, not by the style rules
  { ignores: ['dist/**', 'node_modules/**', 'bpf/build/**', 'proto/**/generated/**', 'xds/generated/**'] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
