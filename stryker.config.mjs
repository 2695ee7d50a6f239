// Mutation testing of the clinical and safety-critical modules: `npm run mutate` (docs/testing.md).
// Each mutant is tested against the unit tests only (vitest.mutate.config.ts).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  checkers: [],
  coverageAnalysis: 'perTest',
  // Mutants in module-level code (zod schemas, unit and limit tables) are covered only while modules
  // load, so each would need every test re-run with fresh modules: they are left out (docs/testing.md).
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 5_000,
  mutate: [
    // Ingest: payload decoders, unit normalisation, plausibility limits, refusal budgets.
    'src/ingest/decode.ts',
    'src/ingest/payloads/*.ts',
    'src/ingest/units.ts',
    'src/ingest/plausibility.ts',
    'src/ingest/refusals.ts',
    // Feed authorisation: tokens, and the token's wards checked for each console action.
    'src/feed/auth.ts',
    'src/feed/feed-role.ts:305-517',
    'src/feed/settings-changes.ts:44-54',
    // Rule engine: conditions, and the alert lifecycle (raise, escalate, acknowledge, clear, resolve).
    'src/rules/engine/evaluate.ts',
    'src/rules/alerts/lifecycle.ts',
    'src/rules/engine/engine.ts:112-207',
    'src/rules/engine/engine.ts:338-358',
    'src/rules/alerts/alert-book.ts',
    // NEWS2 scoring.
    'src/rules/news2/score.ts',
    'src/rules/news2/scorer.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  thresholds: { high: 90, low: 85, break: null },
  cleanTempDir: 'always',
};
