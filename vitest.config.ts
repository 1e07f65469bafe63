import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores here and in CI: two forks keep the suite parallel without oversubscribing.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
