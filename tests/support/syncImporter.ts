/**
 * A child process of tests/sync.property.e2e.ts: applies a planned event stream batch by batch
 * through the engine, appending one acknowledgement line per answered batch, and resumes after the
 * last acknowledged batch when started again — as the import CLI does. With SYNC_KILL_AT
 * (`<batch>:<fault point>`) it SIGKILLs itself at that point of that batch: a real crash, with the
 * transaction open or just committed, that the next run must recover from.
 *
 * Env: SYNC_DB_URL, SYNC_TENANT, SYNC_PLAN (JSON { events, batches }), SYNC_ACKS (NDJSON file).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { SyncEvent } from '@hub/core/sync/types';
import { FAULT_POINTS, openProductStore, pipelineFor, type FaultPlan, type FaultPoint } from './syncModel.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const plan = JSON.parse(readFileSync(env('SYNC_PLAN'), 'utf8')) as { events: SyncEvent[]; batches: number[] };
const acks = env('SYNC_ACKS');
const done = existsSync(acks) ? readFileSync(acks, 'utf8').split('\n').filter(Boolean).length : 0;
const [killBatch, killPoint] = (process.env['SYNC_KILL_AT'] ?? '').split(':');
if (killPoint !== undefined && !(FAULT_POINTS as readonly string[]).includes(killPoint))
  throw new Error(`SYNC_KILL_AT: unknown point ${killPoint}`);

// The test migrated the store before starting the importer.
const store = await openProductStore(
  { kind: 'postgres', url: env('SYNC_DB_URL'), schema: 'product' },
  { migrate: false },
);
const faults: FaultPlan = {
  armed: null,
  fire() {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable: SIGKILL was sent');
  },
};
const pipeline = pipelineFor(store, env('SYNC_TENANT'), faults);
let offset = plan.batches.slice(0, done).reduce((a, b) => a + b, 0);
for (let b = done; b < plan.batches.length; b++) {
  const size = plan.batches[b] ?? 0;
  faults.armed = String(b) === killBatch ? (killPoint as FaultPoint) : null;
  const results = await pipeline.apply(plan.events.slice(offset, offset + size));
  appendFileSync(acks, `${JSON.stringify({ batch: b, results: results.map((r) => [r.outcome, r.firstOutcome]) })}\n`);
  offset += size;
}
await store.close();
