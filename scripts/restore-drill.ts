/**
 * `npm run restore:drill [-- --domain sales] [--crash-after N] [--json]`: the restore procedure end to
 * end on the local PostgreSQL and NATS (README "Restore"). Starts the hub (seven subgraph processes
 * and the gateway, tests/support/hub.ts) on a fresh database with the JetStream bus, pushes traffic
 * (the daily health recompute, which the sales and marketing consumers follow, and opportunities),
 * dumps the domain (T), pushes more (opportunities created and changed, customers created, tickets
 * opened: writes in the domain and in the domains it consumes), stops the domain's process and drops
 * its schemas (the loss), runs `npm run restore` (load, replay, rewind; with `--crash-after N` it is
 * killed after N replayed events first and run again without the dump: the resume), starts the
 * process again, and runs `reconcile` in every domain. Prints the time per phase, the events
 * replayed, the differences left per domain and whether the other domains' stores are unchanged.
 * Also compares the domain's rows (models, replica, provenance) with what the loss destroyed.
 * Exit code 1 when a difference is left, a row is not as before the loss, or another store changed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { REPO_ROOT } from '@hub/core/process';
import { relayPosition } from '@hub/core/events/relay';
import { schemaDigest } from '@hub/core/restore';
import type { SubgraphDefinition } from '@hub/core/subgraph';
import { finished, runGatewayCli } from '../gateway/tests/syncCli.js';
import { startHub, type Hub } from '../tests/support/hub.js';
import { spawn } from 'node:child_process';

const { values } = parseArgs({
  options: {
    domain: { type: 'string', default: 'sales' },
    'crash-after': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const domain = values.domain as Domain;
if (!(DOMAINS as readonly string[]).includes(domain)) throw new Error(`unknown domain ${domain}`);
const crashAfter = values['crash-after'] === undefined ? 0 : Number(values['crash-after']);
const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const prefix = `DRILL${randomBytes(4).toString('hex').toUpperCase()}`;
const say = (line: string) => {
  if (!values.json) console.log(line);
};

const phases: Record<string, number> = {};
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  phases[name] = Math.round(performance.now() - started);
  say(`${name}: ${String(phases[name])} ms`);
  return result;
}

interface Report {
  checked: number;
  differing: number;
  score: number;
  differences: { check: string; key: string; kind: string; fields: string[] }[];
}

/** Every outbox published and no consumer moving any more: what was pushed has gone everywhere. */
async function settle(db: pg.Client, timeoutMs = 300_000): Promise<void> {
  const union = (sql: (schema: string) => string) => DOMAINS.map((d) => `(${sql(d)})`).join(' + ');
  let previous = '';
  let stable = 0;
  for (const until = Date.now() + timeoutMs; Date.now() < until;) {
    const { rows } = await db.query<{ unpublished: number; moved: string }>(
      `SELECT ${union((d) => `SELECT count(*) FROM "${d}".hub_sync_outbox WHERE seq > ${relayPosition(d)}`)} AS unpublished,
              (${union((d) => `SELECT count(*) FROM "${d}".hub_event_inbox`)})::text || '/' ||
              (${union((d) => `SELECT count(*) FROM "${d}".hub_sync_outbox`)})::text AS moved`,
    );
    const row = rows[0];
    if (row && Number(row.unpublished) === 0 && row.moved === previous) stable++;
    else stable = 0;
    if (stable >= 3) return;
    previous = row?.moved ?? '';
    await sleep(1000);
  }
  throw new Error('the hub did not settle');
}

const runRestore = (args: string[], env: Record<string, string>) =>
  finished(
    spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/restore.ts'), ...args, '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );

async function gql(hub: Hub, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await hub.query(query, variables, token);
  if (res.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(res.errors)}`);
  return res.data;
}

const started = performance.now();
const hub = await phase('start', () => startHub({ subgraphEnv: { NATS_URL: natsUrl, HUB_NATS_PREFIX: prefix } }));
const db = new pg.Client({ connectionString: hub.database.url });
await db.connect();
const dir = await mkdtemp(path.join(tmpdir(), 'hub-restore-'));
let exitCode = 1;
try {
  const admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'drill', expiresIn: '1h' });
  const job = async (name: string) => {
    const res = await runGatewayCli('job', [name, '--tenant', 'acme'], admin, hub.gatewayUrl);
    if (res.code !== 0 && name !== 'reconcile') throw new Error(`${name}: ${res.stdout}${res.stderr}`);
  };
  const opportunity = (n: number) =>
    gql(hub, admin, `mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }`, {
      input: {
        customerId: `cust_${String(n).padStart(5, '0')}`,
        ownerId: 'u1',
        type: 'UPSELL',
        value: `${1000 + n}.00`,
        probability: 0.5,
        timeline: 'q4_2027',
      },
    }) as Promise<{ createOpportunity: { id: string } }>;

  await phase('traffic before T', async () => {
    await job('health-recompute');
    // The health events reach sales' consumer first: an opportunity created while its customer's health
    // signal is in flight is a race the reconciliation can flag on its own (README "Restore", limits).
    await settle(db);
    for (let n = 1; n <= 20; n++) await opportunity(n);
    await settle(db);
  });
  const dump = path.join(dir, `${domain}.dump`);
  const env = { DATABASE_URL: hub.database.url, NATS_URL: natsUrl, HUB_NATS_PREFIX: prefix };
  await phase('dump (T)', async () => {
    const res = await runRestore(['--domain', domain, '--backup', dump], env);
    if (res.code !== 0) throw new Error(res.stderr);
  });
  const afterT = new Date();
  await phase('traffic after T', async () => {
    for (let n = 21; n <= 60; n++) {
      const { createOpportunity } = await opportunity(n);
      if (n % 4 === 0)
        await gql(hub, admin, `mutation($id: ID!) { updateOpportunity(id: $id, input: { probability: 0.8 }) { id } }`, {
          id: createOpportunity.id,
        });
    }
    for (let n = 1; n <= 5; n++)
      await gql(hub, admin, `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }`, {
        input: { name: `Drill ${String(n)}`, ownerId: `u${String(n)}` },
      });
    for (let n = 1; n <= 15; n++)
      await gql(hub, admin, `mutation($input: CreateTicketInput!) { createTicket(input: $input) { id } }`, {
        input: {
          customerId: `cust_${String(100 + n).padStart(5, '0')}`,
          subject: `Drill ${String(n)}`,
          description: 'outage',
          priority: 'URGENT',
          channel: 'EMAIL',
        },
      });
    await settle(db);
  });
  const consumedAfterT = await db.query<{ consumer: string; n: number }>(
    `SELECT consumer, count(*)::int AS n FROM "${domain}".hub_event_inbox WHERE processed_at >= $1 GROUP BY 1 ORDER BY 1`,
    [afterT],
  );
  const others = DOMAINS.filter((d) => d !== domain);
  const digest = async () =>
    Object.fromEntries(
      await Promise.all(others.map(async (d) => [d, await schemaDigest(hub.database.url, d)] as const)),
    );
  // The restored domain's content, as the loss found it: its models, replica and provenance (times of
  // the write itself aside, which a replay cannot give back).
  const { subgraph } = (await import(`../subgraphs/${domain}/src/server.ts`)) as {
    subgraph: SubgraphDefinition<unknown, unknown>;
  };
  const content = {
    tables: [
      ...Object.keys(subgraph.sync?.models ?? {}),
      'hub_customer_replica',
      'hub_grant_replica',
      'hub_sync_row_source',
      'hub_sync_outbox',
    ],
    // The outbox's seq is the store's own bookkeeping: the events themselves must match.
    ignoreColumns: ['createdAt', 'updatedAt', 'updated_at', 'seq'],
  };
  const reconcileAll = async () => {
    await job('reconcile');
    const data = (await gql(
      hub,
      admin,
      `{ sync { ${DOMAINS.map(
        (d) => `${d} { reconciliation { checked differing score differences { check key kind fields } } }`,
      ).join(' ')} } }`,
    )) as { sync: Record<string, { reconciliation: Report | null }> };
    return Object.fromEntries(DOMAINS.map((d) => [d, data.sync[d]?.reconciliation ?? null]));
  };
  const baseline = await phase('reconcile before the loss', reconcileAll);
  const lostState = await schemaDigest(hub.database.url, domain, content);
  const before = await digest();
  const lostRows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${domain}".hub_sync_outbox WHERE committed_at >= $1`,
    [afterT],
  );

  await phase('loss', async () => {
    await hub.subgraphs[domain].stop();
    await db.query(`DROP SCHEMA "${domain}" CASCADE; DROP SCHEMA IF EXISTS "pgboss_${domain}" CASCADE`);
  });
  const restore = await phase('restore', async () => {
    let crashed: string | null = null;
    if (crashAfter > 0) {
      const res = await runRestore(['--domain', domain, '--dump', dump], {
        ...env,
        HUB_RESTORE_CRASH_AFTER: String(crashAfter),
      });
      if (res.code !== 3) throw new Error(`the crash run exited ${String(res.code)}: ${res.stderr}`);
      crashed = res.stderr.trim();
    }
    const res = await runRestore(['--domain', domain, ...(crashAfter > 0 ? [] : ['--dump', dump])], env);
    if (res.code !== 0) throw new Error(res.stderr);
    return { crashed, ...(JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>) };
  });
  await phase('restart and catch up', async () => {
    await hub.respawnSubgraph(domain);
    await settle(db);
  });
  const after = await digest();
  const restoredState = await schemaDigest(hub.database.url, domain, content);
  const notRestored = Object.keys({ ...lostState, ...restoredState }).filter((t) => lostState[t] !== restoredState[t]);
  const changed = others.flatMap((d) =>
    Object.keys({ ...before[d], ...after[d] })
      .filter((table) => before[d]?.[table] !== after[d]?.[table])
      .map((table) => `${d}.${table}`),
  );
  const reports = await phase('reconcile', reconcileAll);
  const left = DOMAINS.reduce((sum, d) => sum + (reports[d]?.differing ?? 0), 0);
  const totalMs = Math.round(performance.now() - started);
  const result = {
    domain,
    phases,
    totalMs,
    lostOutboxRows: lostRows.rows[0]?.n ?? 0,
    consumedAfterT: Object.fromEntries(consumedAfterT.rows.map((r) => [r.consumer, r.n])),
    restore,
    differences: Object.fromEntries(
      DOMAINS.map((d) => [
        d,
        {
          checked: reports[d]?.checked ?? 0,
          differing: reports[d]?.differing ?? 0,
          sample: reports[d]?.differences.slice(0, 5) ?? [],
        },
      ]),
    ),
    restoredAsLost: notRestored.length === 0,
    restoredTables: Object.fromEntries(Object.entries(restoredState).map(([t, d]) => [t, Number(d.split(':')[0])])),
    notRestored,
    baselineDifferences: Object.fromEntries(DOMAINS.map((d) => [d, baseline[d]?.differing ?? 0])),
    othersUntouched: changed.length === 0,
    changedTables: changed,
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    const replay = (restore as { replay?: Record<string, unknown> }).replay;
    console.log(`\nrestore drill (${domain}): ${String(totalMs)} ms in all`);
    console.log(
      `  lost: ${String(result.lostOutboxRows)} outbox events of ${domain} after T; consumed after T: ${JSON.stringify(result.consumedAfterT)}`,
    );
    if (restore.crashed) console.log(`  first run killed mid-replay (${restore.crashed}); the rerun resumed`);
    console.log(`  replay: ${JSON.stringify(replay)}`);
    for (const d of DOMAINS)
      console.log(
        `  ${d}: checked ${String(result.differences[d]?.checked)}, differences left ${String(result.differences[d]?.differing)}`,
      );
    console.log(
      `  ${domain}'s rows as before the loss: ${result.restoredAsLost ? 'yes' : `NO (${notRestored.join(', ')})`} ${JSON.stringify(result.restoredTables)}`,
    );
    console.log(`  differences before the loss (baseline): ${JSON.stringify(result.baselineDifferences)}`);
    console.log(`  other domains untouched: ${result.othersUntouched ? 'yes' : `NO (${changed.join(', ')})`}`);
  }
  exitCode = left === 0 && changed.length === 0 && notRestored.length === 0 ? 0 : 1;
} finally {
  await db.end();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
  // The drill's streams go with it (the shared server keeps others').
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  for (const d of DOMAINS) await jsm.streams.delete(`${prefix}_${d.toUpperCase()}`).catch(() => undefined);
  await nc.close();
}
process.exit(exitCode);
