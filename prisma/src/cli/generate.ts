/**
 * Usage: generate [domain|all]
 *
 * Generates the Prisma client of each prisma/<domain>/schema.prisma into prisma/<domain>/generated
 * (imported as `@hub/store/<domain>`). Domains without a schema yet are skipped under `all`.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { generateClient } from '../generate.js';
import { resolveDomains, schemaPathFor, STORE_ROOT } from '../paths.js';

/** Each run is a separate CLI process; a few at once halve the wall time on two cores. */
const CONCURRENCY = 3;

const domains = resolveDomains(process.argv[2]);
if (domains.length === 0) {
  console.log('prisma:generate: no prisma/<domain>/schema.prisma yet, nothing to generate');
}
for (const domain of domains) {
  const schemaPath = schemaPathFor(domain);
  if (!existsSync(schemaPath)) {
    console.error(`${domain}: ${relative(STORE_ROOT, schemaPath)} does not exist`);
    process.exit(2);
  }
}

const queue = [...domains];
let failed = 0;
async function worker(): Promise<void> {
  for (let domain = queue.shift(); domain !== undefined; domain = queue.shift()) {
    try {
      const { durationMs } = await generateClient(schemaPathFor(domain));
      console.log(`${domain}: generated prisma/${domain}/generated (${durationMs} ms)`);
    } catch (err) {
      failed++;
      console.error(`${domain}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
if (failed > 0) process.exit(1);
