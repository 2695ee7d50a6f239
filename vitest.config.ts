import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Mosquitto, Kafka and InfluxDB for the integration suites: from the environment, scripts/services.sh
    // or testcontainers (test/support/global-services.ts), said on stderr.
    globalSetup: ['test/support/global-services.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Under CI a skipped or focused test is an error, not a quiet pass.
    allowOnly: !process.env.CI,
  },
});
