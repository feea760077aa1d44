/**
 * `npm run restore -- --domain D [--dump FILE] [--since ISO] [--json]`: restores one domain's store
 * to the dump's point in time and brings it forward from its JetStream stream
 * (packages/core/src/restore.ts; README "Restore"). `--backup FILE` takes such a dump instead.
 *
 * Stop the domain's processes first (API and workers): nothing may write its store or consume for it
 * meanwhile. Where the store is: DATABASE_URL / <DOMAIN>_DATABASE_URL (PostgreSQL only); the bus:
 * NATS_URL and HUB_NATS_PREFIX, as the hub runs. Without `--dump` only the replay and the consumer
 * rewind run: that resumes an interrupted restore. Exit code 0 done, 1 failed.
 */
import { parseArgs } from 'node:util';
import { classifyDocument, piiNames } from '@hub/core/classification';
import { EnvReader, isProduction, readMasterKeys } from '@hub/core/config';
import { enableSqlEncryption } from '@hub/core/crypto/index';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { replicaConsumerName } from '@hub/core/replicaFeed';
import { dumpDomain, loadDump, replayLostEvents, rewindConsumers } from '@hub/core/restore';
import { openStoreSql, storeConfigFromEnv } from '@hub/store';
import type { SubgraphDefinition } from '@hub/core/subgraph';

const { values } = parseArgs({
  options: {
    domain: { type: 'string' },
    dump: { type: 'string' },
    backup: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`restore: ${message}`);
  process.exit(1);
}

const domain = values.domain as Domain | undefined;
if (!domain || !(DOMAINS as readonly string[]).includes(domain))
  fail(`--domain must be one of ${DOMAINS.join(', ')}, got ${JSON.stringify(values.domain)}`);
const config = storeConfigFromEnv(domain);
if (config.kind !== 'postgres') fail(`${domain}'s store is embedded: restore needs PostgreSQL (set DATABASE_URL)`);
const since = values.since === undefined ? undefined : new Date(values.since);
if (since && Number.isNaN(since.getTime())) fail(`--since must be an ISO time, got ${values.since}`);

const timed = async <T>(phases: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await fn();
  phases[name] = Math.round(performance.now() - started);
  return result;
};

if (values.backup) {
  const started = performance.now();
  await dumpDomain(domain, config, values.backup);
  const ms = Math.round(performance.now() - started);
  console.log(
    values.json
      ? JSON.stringify({ domain, backup: values.backup, ms })
      : `${domain}: dumped to ${values.backup} in ${ms} ms`,
  );
  process.exit(0);
}

const natsUrl = process.env['NATS_URL'];
if (!natsUrl) fail('NATS_URL is not set: the stream is the log that survives the store (the embedded bus has none)');
// The domain's declaration (sync kinds, customer keys, consumers), without starting it.
const { subgraph } = (await import(`../subgraphs/${domain}/src/server.ts`)) as {
  subgraph: SubgraphDefinition<unknown, unknown>;
};
const crashAfter = Number(process.env['HUB_RESTORE_CRASH_AFTER'] ?? 0);

const phases: Record<string, number> = {};
if (values.dump) await timed(phases, 'load', () => loadDump(domain, config, values.dump as string));
const { sql, close } = await openStoreSql(config);
// The store's encryption, as its subgraph runs it: the replay writes rows and bookkeeping encrypted
// and opens the stream's encrypted PII (HUB_MASTER_KEY, as the hub runs).
const classification = classifyDocument(subgraph.typeDefs);
if (piiNames(classification).size > 0) {
  const read = new EnvReader();
  const master = readMasterKeys(read, isProduction());
  if (read.problems.length > 0) fail(read.problems.join('; '));
  await enableSqlEncryption(sql, classification, master);
}
const bus = await createNatsBus({
  servers: natsUrl,
  prefix: process.env['HUB_NATS_PREFIX'],
  name: `restore-${domain}`,
});
try {
  const replay = await timed(phases, 'replay', () =>
    replayLostEvents({
      domain,
      store: sql,
      bus,
      definition: subgraph.sync ?? { domain, kinds: [], models: {} },
      customerKeys: subgraph.customerKeys,
      since,
      // Tests: dies mid-replay, as a killed operator session would (the rerun must resume).
      afterEvent: (n) => {
        if (crashAfter > 0 && n >= crashAfter) {
          console.error(`restore: HUB_RESTORE_CRASH_AFTER=${crashAfter}: exiting mid-replay`);
          process.exit(3);
        }
      },
    }),
  );
  const consumers = [
    ...(domain === 'customers' ? [] : [{ name: replicaConsumerName(domain), from: 'customers' as Domain }]),
    ...(subgraph.consumers ?? []).map((c) => ({ name: c.name, from: c.from })),
  ];
  const rewound = await timed(phases, 'rewind', () => rewindConsumers({ store: sql, bus, consumers }));
  const report = { domain, phases, replay, rewound };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(
      `${domain}: ${values.dump ? `loaded ${values.dump} in ${String(phases['load'])} ms; ` : ''}replayed ${replay.replayed} events of ` +
        `${replay.read} read (${replay.present} already there, ${replay.loggedOnly} logged only, ${replay.markedPublished} unpublished at T but on the stream) ` +
        `in ${String(phases['replay'])} ms; outcomes ${JSON.stringify(replay.outcomes)}`,
    );
    for (const r of rewound)
      console.log(`  ${r.consumer} (${r.stream}): from ${r.cursor === null ? 'the beginning' : `after ${r.cursor}`}`);
  }
} catch (error) {
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
} finally {
  await bus.close();
  await close();
}
