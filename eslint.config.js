// ESLint for frontend/ (flat config). Run by `make lint` (part of `make test`):
//   npx eslint frontend
// A small, strict set: ESLint's and typescript-eslint's recommended rules (no
// type-aware rules: they would double the run time and tsc --noEmit already
// type-checks), and react-hooks' recommended set, whose rules find real bugs
// (hooks called conditionally, effects reading stale values, state set during
// render). Formatting is Prettier's job (.prettierrc), never ESLint's.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals for the scripts and browser journeys (.mjs), listed here
// rather than pulling in the `globals` package for a dozen names.
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'fetch',
    'URL',
    'URLSearchParams',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'AbortController',
    'AbortSignal',
    'TextEncoder',
    'TextDecoder',
    'WebSocket',
    'FormData',
    'Blob',
    'Response',
    'structuredClone',
    'performance',
    'crypto',
    // Code passed to page.evaluate runs in the browser.
    'window',
    'document',
    'navigator',
    'localStorage',
    'sessionStorage',
    'getComputedStyle',
    'location',
    'NodeFilter',
    'PerformanceObserver',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig([
  { ignores: ['frontend/dist/**', 'frontend/src/api/schema.d.ts', 'frontend/public/**'] },
  {
    files: ['frontend/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommended, reactHooks.configs.flat.recommended],
    rules: {
      // tsc checks names (no-undef knows no DOM or TS types).
      'no-undef': 'off',
      // tsc's noUnusedLocals/noUnusedParameters already refuse these; an
      // `_`-prefixed name is the conventional "unused on purpose".
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['frontend/**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: nodeGlobals },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
]);
