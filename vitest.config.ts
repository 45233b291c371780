import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One source of truth for import aliases: tsconfig.base.json's "paths".
const root = fileURLToPath(new URL('.', import.meta.url));
const paths = JSON.parse(readFileSync(`${root}tsconfig.base.json`, 'utf8')).compilerOptions.paths as Record<string, string[]>;
const alias = Object.entries(paths)
  .sort(([a], [b]) => b.length - a.length)
  .map(([key, [target]]) =>
    key.endsWith('/*')
      ? { find: new RegExp(`^${key.slice(0, -2).replace('/', '\\/')}\\/(.*)$`), replacement: `${root}${target!.slice(0, -2)}/$1` }
      : { find: new RegExp(`^${key.replace('/', '\\/')}$`), replacement: `${root}${target}` },
  );

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.spec.ts', 'tools/**/*.spec.ts', 'examples/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'var/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['libs/testing/src/global-setup.ts'],
  },
});
