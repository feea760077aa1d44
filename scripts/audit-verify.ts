/**
 * `npm run audit:verify [-- --domain d] [--tenant t] [--json]`: walks every audit chain (hub_audit,
 * packages/core/src/audit.ts) of every domain store — or of one — and reports per stream (tenant,
 * domain) how many entries it checked and the head hash, or the first broken link: its position,
 * what kind of break (an entry whose content does not give its hash, a link to the wrong previous
 * hash, missing positions, a head that disagrees with the last entry), the expected and the found
 * value. Exit code: 0 every chain intact, 1 a chain is broken, 2 the check could not run.
 *
 * Reads the stores directly, where storeConfigFromEnv points (DATABASE_URL / <DOMAIN>_DATABASE_URL,
 * else the embedded stores under HUB_DATA_DIR: stop the hub first, PGlite has one owner).
 * Keep the printed head hashes somewhere else (a ticket, the ops log): an attacker able to rewrite a
 * whole chain and its head is caught only by comparing with a head seen earlier.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyAudit, type AuditStreamReport } from '@hub/core/audit';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { openStoreSql, storeConfigFromEnv } from '@hub/store';

const { values } = parseArgs({
  options: {
    domain: { type: 'string' },
    tenant: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const domains: readonly Domain[] = values.domain === undefined ? DOMAINS : [values.domain as Domain];
if (values.domain !== undefined && !(DOMAINS as readonly string[]).includes(values.domain)) {
  console.error(`audit:verify: unknown domain ${JSON.stringify(values.domain)}; known: ${DOMAINS.join(', ')}`);
  process.exit(2);
}

const reports: AuditStreamReport[] = [];
let failed = false;
for (const domain of domains) {
  const config = storeConfigFromEnv(domain);
  if (config.kind === 'embedded' && !existsSync(config.dataDir)) {
    if (!values.json) console.log(`${domain}: no store at ${config.dataDir}`);
    continue;
  }
  let store: Awaited<ReturnType<typeof openStoreSql>> | undefined;
  try {
    store = await openStoreSql(config);
    const found = await verifyAudit(store.sql, values.tenant === undefined ? {} : { tenantId: values.tenant });
    reports.push(...found);
    if (!values.json) {
      if (found.length === 0) console.log(`${domain}: no audit entries`);
      for (const r of found) {
        const where = `${r.domain} ${r.tenantId}`;
        if (r.broken)
          console.log(
            `${where}: BROKEN at position ${r.broken.position} (${r.broken.kind}): expected ${r.broken.expected}, found ${r.broken.found}`,
          );
        else
          console.log(
            `${where}: ${r.entries} entries intact (positions ${r.firstPosition ?? '-'}..${r.lastPosition}), head ${r.headHash}`,
          );
      }
    }
  } catch (error) {
    failed = true;
    console.error(`${domain}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await store?.close();
  }
}
if (values.json) console.log(JSON.stringify(reports, null, 2));
const broken = reports.filter((r) => r.broken !== null);
if (!values.json)
  console.log(
    broken.length === 0
      ? `audit:verify: ${reports.length} stream(s) intact`
      : `audit:verify: ${broken.length} of ${reports.length} stream(s) broken`,
  );
process.exit(broken.length > 0 ? 1 : failed ? 2 : 0);
