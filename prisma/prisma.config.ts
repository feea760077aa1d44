/**
 * Config for the Prisma CLI, used only for `prisma generate` (see src/cli/generate.ts).
 * The CLI insists on a native schema engine before any command, and none can be downloaded here;
 * generation does not use it, so any executable satisfies the check. The CLI loads this file
 * before that check, which is why setting it here works.
 */
import { defineConfig } from 'prisma/config';

process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= '/bin/false';

export default defineConfig({});
