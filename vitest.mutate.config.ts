import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The unit tests of the modules under mutation testing (stryker.config.mjs): every mutant is tested
 * against these only, so end-to-end and integration suites (processes, brokers, real services) never
 * run under it. Left out, for the time they take under every mutant: seeded fuzzing, the memory and
 * property-based runs (they assert robustness, never throws or bounded memory, rather than values), the
 * replay CLI's ward-week trace, and the feed session tests that wait for tokens to expire in real time
 * (token checks and refresh are also covered without waiting, in test/unit/feed/actions.test.ts).
 */
export default defineConfig({
  test: {
    include: ['test/unit/ingest/**/*.test.ts', 'test/unit/feed/**/*.test.ts', 'test/unit/rules/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      'test/unit/ingest/fuzz.test.ts',
      'test/unit/ingest/memory.test.ts',
      'test/unit/rules/engine-properties.test.ts',
      'test/unit/rules/replay.test.ts',
      'test/unit/feed/session.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
