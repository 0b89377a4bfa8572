import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Libraries that belong to one transport: only src/transports (and the composition root) may import them. */
const TRANSPORT_LIBRARIES = ['fastify', 'fastify-*', '@fastify/*', 'find-my-way', 'light-my-request', 'graphql', 'graphql-*', '@graphql-*/*', '@grpc/*', '@connectrpc/*', '@bufbuild/*', 'ws', 'negotiator'];
/** Store clients: the infra layer's. */
const STORE_LIBRARIES = ['pg', 'pg-*', 'ioredis', 'kysely', '@electric-sql/*'];

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
  // The layers (docs/ARCHITECTURE.md): the domain depends on nothing but itself;
  // the platform's cores on the domain, never on a transport or its library.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...TRANSPORT_LIBRARIES, ...STORE_LIBRARIES, '**/platform/**', '**/infra/**', '**/transports/**'] }],
    },
  },
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...TRANSPORT_LIBRARIES, '**/transports/**'] }],
    },
  },
  // Transports do not import each other: what two need lives below them (platform/representations, …).
  {
    files: ['src/transports/graphql/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/transports/rest/**', '**/rest/**', '**/transports/ws/**', '**/ws/**', '**/transports/sse/**', '**/sse/**', '**/transports/grpc/**', '**/grpc/**'] }],
    },
  },
);
