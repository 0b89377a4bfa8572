import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'openapi.json', 'openapi.v*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // Pagination serves every transport: no transport, no web framework.
    files: ['src/platform/pagination/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['fastify*', '@fastify/*', 'graphql*', '@grpc/*', '**/transports/**'] }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['fastify*', '@fastify/*', 'pg', 'ioredis', 'kysely', 'graphql*', '**/infra/**', '**/transports/**'] }],
    },
  },
);
