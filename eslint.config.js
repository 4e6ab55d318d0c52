// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.tools/',
      'data/',
      'test-results/',
      'terminal/ui/dist/',
      'central/admin-ui/dist/',
      'dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a string-literal union.' },
      ],
    },
  },
  {
    // shared/ is the protocol and the rules: it must not reach into either program.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ['**/central/**', '**/terminal/**', 'knex', 'express', 'pg', 'better-sqlite3'],
        },
      ],
    },
  },
  {
    files: ['central/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/terminal/**'] }] },
  },
  {
    files: ['terminal/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/central/**'] }] },
  },
  {
    // The counter's screens run in a browser (bundled by Vite), never in Node: pure shared
    // modules and the contract's types only.
    files: ['terminal/ui/src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: { globals: globals.browser },
    rules: {
      ...reactHooks.configs.flat['recommended-latest'].rules,
      'react-hooks/exhaustive-deps': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            '**/central/**',
            '**/core.ts',
            '**/store.ts',
            '**/sync-client.ts',
            '**/credentials.ts',
            '**/devices/printer/**',
            '**/scanner/serial.ts',
            '**/scanner/hid.ts',
            '**/server/*',
            '!**/server/contract.ts',
            'express',
            'better-sqlite3',
            'serialport',
            'knex',
            'pg',
          ],
        },
      ],
    },
  },
  {
    // The head office console runs in a browser (bundled by Vite): shared modules only, no server code.
    files: ['central/admin-ui/src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: { globals: globals.browser },
    rules: {
      ...reactHooks.configs.flat['recommended-latest'].rules,
      'react-hooks/exhaustive-deps': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', '**/terminal/**', 'express', 'better-sqlite3', 'knex', 'pg'] },
            {
              // central's server modules, reached by climbing out of admin-ui/
              regex:
                '^(\\.\\./)+(admin|audit|console|db|demo|http|ledger|members|otp|redeem|reports|scheduler|sms|staff|sync|config|errors|log|main|metrics|secret|server|time)(/|\\.ts$)',
              message:
                'The console talks to central over HTTP only; import shared/ modules instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // knex hands back rows as `any`; the db layer declares each row's type where it reads it.
    files: ['central/db/**/*.ts', 'migrations/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Tests read JSON responses and assert them field by field: the assertion is the type check.
    files: ['test/**/*.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
