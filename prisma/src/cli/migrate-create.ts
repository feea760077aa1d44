/**
 * Usage: migrate-create <domain|all> [--name <name>] [--check]
 *
 * Writes prisma/<domain>/migrations/<timestamp>_<name>/migration.sql for the difference between the
 * committed migrations and prisma/<domain>/schema.prisma. `--check` writes nothing and exits 1 when
 * some schema has changes no migration covers (CI drift check).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createMigration } from '../create-migration.js';
import { releaseEngine } from '../engine.js';
import { migrationsDirFor, resolveDomains, schemaPathFor } from '../paths.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, check: { type: 'boolean', default: false } },
});

const check = values.check === true;
if (!check && values.name === undefined) {
  console.error('usage: migrate-create <domain|all> --name <name>   |   migrate-create <domain|all> --check');
  process.exit(2);
}

const domains = resolveDomains(positionals[0]);
if (domains.length === 0) {
  console.error('no prisma/<domain>/schema.prisma found');
  process.exit(2);
}

let drifted = 0;
let failed = 0;
for (const domain of domains) {
  const schemaPath = schemaPathFor(domain);
  if (!existsSync(schemaPath)) {
    console.error(`${domain}: ${schemaPath} does not exist`);
    failed++;
    continue;
  }
  try {
    const result = await createMigration({
      schemaPath,
      migrationsDir: migrationsDirFor(domain),
      name: values.name ?? 'check',
      check,
    });
    if (result.migration === null) {
      console.log(`${domain}: no changes (${result.durationMs} ms)`);
    } else if (check) {
      drifted++;
      console.log(`${domain}: DRIFT — schema.prisma has changes no migration covers:\n${result.script ?? ''}`);
    } else {
      console.log(`${domain}: wrote migrations/${result.migration}/migration.sql (${result.durationMs} ms)`);
    }
  } catch (err) {
    failed++;
    console.error(`${domain}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
await releaseEngine();
if (drifted > 0) {
  console.error(`${drifted} domain(s) need a migration: npm run migrate:create -- <domain> --name <name>`);
}
if (failed > 0 || drifted > 0) process.exit(1);
