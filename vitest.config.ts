import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Under CI a skipped or focused test is an error, not a quiet pass.
    allowOnly: !process.env.CI,
  },
});
