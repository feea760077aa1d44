/**
 * Usage: migrate-apply [domain|all]
 *
 * Applies pending migrations of each domain to the store storeConfigFromEnv gives it:
 * <DOMAIN>_DATABASE_URL or DATABASE_URL (one schema per domain), else the embedded PGlite
 * directory under HUB_DATA_DIR (default .data). Same history table as `prisma migrate deploy`.
 */
import { migrateStore, storeConfigFromEnv } from '../index.js';
import { migrationsDirFor, resolveDomains } from '../paths.js';

const domains = resolveDomains(process.argv[2]);
if (domains.length === 0) {
  console.log('migrate:apply: no prisma/<domain>/schema.prisma yet, nothing to apply');
}
let failed = 0;
for (const domain of domains) {
  const config = storeConfigFromEnv(domain);
  const where =
    config.kind === 'postgres'
      ? `postgres ${new URL(config.url).pathname.slice(1)}, schema ${config.schema}`
      : `embedded ${config.dataDir}`;
  const started = performance.now();
  try {
    const { applied } = await migrateStore(config, migrationsDirFor(domain));
    const ms = Math.round(performance.now() - started);
    console.log(
      `${domain} (${where}): ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`} (${ms} ms)`,
    );
  } catch (err) {
    failed++;
    console.error(`${domain} (${where}): ${err instanceof Error ? err.message : String(err)}`);
  }
}
if (failed > 0) process.exit(1);
