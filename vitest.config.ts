import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// One copy of graphql: without the alias, TS sources get graphql's ESM build while the CommonJS
// Apollo packages load its CJS build, and `instanceof GraphQLError` differs between tests and production.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

// Two projects, split by suffix: `*.test.ts` (a package against real Postgres/HTTP, in-process)
// and `*.e2e.ts` (the whole hub as real processes). Each package's `test` script runs its slice.
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    projects: [
      {
        // `extends`: a project does not inherit the root config (the graphql alias above) otherwise.
        extends: true,
        test: {
          name: 'unit',
          include: [
            'packages/*/tests/**/*.test.ts',
            'prisma/tests/**/*.test.ts',
            'subgraphs/*/tests/**/*.test.ts',
            'gateway/tests/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/**/*.e2e.ts'],
          // Builds the processes' bundles once and names the runtime the hubs run on.
          globalSetup: ['tests/support/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 400_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
