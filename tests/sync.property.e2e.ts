/**
 * Property test of the one write pipeline (issue 7, item 7): over a few hundred product rows, a
 * generated stream of more than 10,000 events — random repeats (same key and payload, same key and
 * another payload, the same keyless payload), random arrival order, stale times, sources that
 * conflict on fields with a system of record, invalid payloads, unknown customers — sent in random
 * batch sizes with failures injected between the engine's steps:
 *
 *  - before the claim (the batch's customer check fails), after the claim, after the row locks,
 *    after the domain rows, after the bookkeeping: an error inside the transaction; the client
 *    retries the batch;
 *  - after the commit, before the answer: the answer is lost and the client retries the batch;
 *  - a child process killed with SIGKILL at each of those points, and once at a random moment,
 *    then started again (it resumes after its last acknowledged batch).
 *
 * The store must equal the reference model of tests/support/syncModel.ts (each distinct key
 * applied once, in arrival order, with the conflict rule): domain rows and field sources, one
 * idempotency record per accepted key, one outbox event per event that changed something and none
 * other, one quality row per accepted event, a dead letter per rejected sync-API key. Real PostgreSQL, and
 * the embedded PGlite store.
 *
 * Seed: SYNC_PROPERTY_SEED (fast-check prints the seed of a failing run).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson } from '@hub/core/canonicalJson';
import { REPO_ROOT } from '@hub/core/process';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import type { SyncResult } from '@hub/core/sync/types';
import {
  FAULT_POINTS,
  InjectedFault,
  openProductStore,
  pipelineFor,
  readStore,
  reference,
  scenarioArb,
  type Expected,
  type FaultPlan,
  type FaultPoint,
  type ProductStore,
  type Scenario,
} from './support/syncModel.js';

const seedEnv = process.env['SYNC_PROPERTY_SEED'];
const SETTINGS = { numRuns: 1, endOnFailure: true, ...(seedEnv ? { seed: Number(seedEnv) } : {}) };
/** 8,500 distinct events + 2,000 repeats = 10,500 events per store. */
const DISTINCT = 8_500;
const REPEATS = 2_000;

const listed = <T>(values: Iterable<T>) => [...values].map(String).sort();

/** Everything the store must hold after `expected` (see the file comment). */
async function expectStoreToMatch(store: ProductStore, tenantId: string, expected: Expected): Promise<void> {
  const stored = await readStore(store, tenantId);
  const rowDiffs: string[] = [];
  for (const [id, want] of expected.rows) {
    const got = stored.rows.get(id);
    if (canonicalJson(got) !== canonicalJson(want))
      rowDiffs.push(`${id}: stored ${canonicalJson(got)} expected ${canonicalJson(want)}`);
  }
  for (const id of stored.rows.keys()) if (!expected.rows.has(id)) rowDiffs.push(`${id}: not expected`);
  expect(rowDiffs.slice(0, 5), `${rowDiffs.length} rows differ`).toEqual([]);
  expect(stored.rows.size).toBe(expected.rows.size);

  // Exactly one idempotency record per accepted key, holding its first outcome.
  expect(listed(stored.idempotency.map((r) => `${r.key} ${r.outcome}`)), 'idempotency records').toEqual(
    listed([...expected.keys].map(([key, outcome]) => `${key} ${outcome}`)),
  );
  // One outbox event per event that changed a value; none for DUPLICATE, STALE or a no-change APPLIED.
  expect(listed(stored.outboxKeys), 'outbox events').toEqual(listed(expected.changing));
  // One quality row per accepted event; rejected events are scored too (once per committed try).
  expect(listed(stored.quality.filter((q) => !q.rejected).map((q) => q.key)), 'quality of accepted events').toEqual(
    listed(expected.keys.keys()),
  );
  expect(
    listed(new Set(stored.quality.filter((q) => q.rejected).map((q) => q.key))),
    'quality of rejected events',
  ).toEqual(listed(expected.rejected));
  expect(listed(stored.deadLetterKeys), 'dead letters').toEqual(listed(expected.deadLetters));
}

/**
 * What the client must have been answered for event `i`. `retryOf` is set when the answer is the
 * second try of a batch whose first try committed (answer lost): [start, end) of that batch, whose
 * accepted keys the retry finds.
 */
function expectedAnswer(expected: Expected, i: number, retryOf: [number, number] | null): string {
  const want = expected.outcomes[i];
  if (!want) return 'missing';
  if (want.outcome === 'DUPLICATE') return `DUPLICATE/${want.firstOutcome}`;
  const acceptedAt = expected.acceptedAt.get(want.key);
  if (retryOf && acceptedAt !== undefined && acceptedAt < retryOf[1]) return `DUPLICATE/${expected.keys.get(want.key)}`;
  return `${want.outcome}/null`;
}

/** Mismatches grouped by kind (`got != want`), with a few examples each: readable when many differ. */
function summary(wrong: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const line of wrong) {
    const kind = line.slice(line.indexOf(': ') + 2);
    groups.set(kind, [...(groups.get(kind) ?? []), line.slice(0, line.indexOf(': '))]);
  }
  return [...groups].map(([kind, lines]) => `${lines.length} x ${kind}, e.g. ${lines.slice(0, 3).join('; ')}`);
}

const answerOf = (r: SyncResult | undefined) => (r ? `${r.outcome}/${r.firstOutcome}` : 'none');

/** Sends the scenario batch by batch in-process, arming each batch's fault once; the retry of a failed batch has none. */
async function drive(
  store: ProductStore,
  tenantId: string,
  scenario: Scenario,
  expected: Expected,
): Promise<Set<FaultPoint>> {
  const faults: FaultPlan = { armed: null };
  const pipeline = pipelineFor(store, tenantId, faults);
  const fired = new Set<FaultPoint>();
  const wrong: string[] = [];
  let offset = 0;
  for (const [b, size] of scenario.batches.entries()) {
    const batch = scenario.events.slice(offset, offset + size);
    const fault = scenario.faults[b] ?? null;
    faults.armed = fault;
    let results: SyncResult[] | undefined;
    let failed = false;
    for (let attempt = 0; results === undefined; attempt++) {
      try {
        results = await pipeline.apply(batch);
      } catch (error) {
        if (!(error instanceof InjectedFault) || attempt > 0) throw error;
        failed = true;
      }
    }
    if (fault !== null && failed) fired.add(fault);
    faults.armed = null;
    results.forEach((r, i) => {
      const lost = failed && fault === 'committed';
      const want = expectedAnswer(expected, offset + i, lost ? [offset, offset + size] : null);
      if (answerOf(r) !== want)
        wrong.push(`event ${offset + i} (batch ${b}, fault ${fault}): ${answerOf(r)} != ${want}`);
    });
    offset += size;
  }
  expect(summary(wrong), `${wrong.length} answers differ`).toEqual([]);
  return fired;
}

async function property(store: ProductStore, tenantPrefix: string): Promise<void> {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb(DISTINCT, REPEATS), async (scenario) => {
      const tenantId = `${tenantPrefix}_${run++}`;
      const expected = reference(scenario.events);
      // The stream exercises every case it is meant to.
      const counts = new Map<string, number>();
      for (const o of expected.outcomes) counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + 1);
      for (const outcome of ['APPLIED', 'MERGED', 'STALE', 'DUPLICATE', 'REJECTED'])
        expect(counts.get(outcome) ?? 0, outcome).toBeGreaterThan(20);
      expect(scenario.events.length).toBeGreaterThanOrEqual(10_000);

      const fired = await drive(store, tenantId, scenario, expected);
      expect(listed(fired)).toEqual(listed(FAULT_POINTS));
      await expectStoreToMatch(store, tenantId, expected);
    }),
    {
      ...SETTINGS,
      // The counterexample is 10,000 events: report the seed and the assertion, not the stream.
      reporter(details) {
        if (details.failed)
          throw new Error(
            `sync property failed (SYNC_PROPERTY_SEED=${details.seed}): ${String(details.errorInstance)}`,
            {
              cause: details.errorInstance,
            },
          );
      },
    },
  );
}

describe('sync pipeline: final state equals each distinct event applied once (property, > 10,000 events)', () => {
  let database: TestDatabase;
  let store: ProductStore;
  beforeAll(async () => {
    database = await createTestDatabase('hub_t_syncprop');
    store = await openProductStore({ kind: 'postgres', url: database.url, schema: 'product' });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  test('PostgreSQL: duplicates, reordering, conflicts, failures between steps and lost answers', async () => {
    await property(store, 'pg');
  }, 300_000);

  test('PostgreSQL: an importer process SIGKILLed at every step and at a random moment resumes to the same state', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sync-kill-'));
    try {
      const [scenario] = fc.sample(scenarioArb(1_600, 400, 200), {
        numRuns: 1,
        ...(seedEnv ? { seed: Number(seedEnv) } : {}),
      });
      if (!scenario) throw new Error('no scenario');
      const expected = reference(scenario.events);
      const planFile = path.join(dir, 'plan.json');
      const acks = path.join(dir, 'acks.ndjson');
      await writeFile(planFile, JSON.stringify({ events: scenario.events, batches: scenario.batches }));
      const tenantId = 'killed';
      const env = { SYNC_DB_URL: database.url, SYNC_TENANT: tenantId, SYNC_PLAN: planFile, SYNC_ACKS: acks };
      const acked = () => readFileSync(acks, 'utf8').split('\n').filter(Boolean).length;
      const start = (extra: Record<string, string>) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/syncImporter.ts'], {
          cwd: REPO_ROOT,
          env: { ...process.env, ...env, ...extra },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on('exit', (code, signal) => resolve({ code, signal })),
        );
        return { child, exit, stderr: () => stderr };
      };
      await writeFile(acks, '');
      // One crash per fault point, each on a batch not yet acknowledged (random, in order).
      const points = fc.sample(fc.shuffledSubarray([...FAULT_POINTS], { minLength: FAULT_POINTS.length }), 1)[0] ?? [];
      const interrupted = new Map<number, (FaultPoint | 'random')[]>();
      const crashed = (batch: number, at: FaultPoint | 'random') =>
        interrupted.set(batch, [...(interrupted.get(batch) ?? []), at]);
      for (const point of points) {
        const batch = acked() + (point.length % 2);
        if (batch >= scenario.batches.length - 1) break;
        const run = start({ SYNC_KILL_AT: `${batch}:${point}` });
        const { signal } = await run.exit;
        expect(signal, run.stderr()).toBe('SIGKILL');
        expect(acked()).toBe(batch);
        crashed(batch, point);
      }
      // A kill from outside at a random moment, once the importer is under way.
      const outside = start({});
      const before = acked();
      while (acked() === before) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      outside.child.kill('SIGKILL');
      expect((await outside.exit).signal).toBe('SIGKILL');
      if (acked() < scenario.batches.length) crashed(acked(), 'random');
      // And a last run that finishes.
      const last = start({});
      expect((await last.exit).code, last.stderr()).toBe(0);

      const lines = readFileSync(acks, 'utf8').split('\n').filter(Boolean);
      expect(lines.length).toBe(scenario.batches.length);
      const wrong: string[] = [];
      let offset = 0;
      for (const [b, line] of lines.entries()) {
        const ack = JSON.parse(line) as { batch: number; results: [string, string | null][] };
        expect(ack.batch).toBe(b);
        const crashes = interrupted.get(b) ?? [];
        const crash = crashes.includes('random') ? 'random' : crashes.includes('committed') ? 'committed' : crashes[0];
        const span: [number, number] = [offset, offset + ack.results.length];
        ack.results.forEach(([outcome, first], i) => {
          const got = `${outcome}/${first}`;
          // Killed after the commit: the re-sent batch finds its keys. A random kill may have hit either side.
          const ok =
            crash === 'random'
              ? [expectedAnswer(expected, offset + i, null), expectedAnswer(expected, offset + i, span)]
              : [expectedAnswer(expected, offset + i, crash === 'committed' ? span : null)];
          if (!ok.includes(got)) wrong.push(`event ${offset + i} (batch ${b}, crash ${crash}): ${got} not in ${ok}`);
        });
        offset += ack.results.length;
      }
      expect(summary(wrong), `${wrong.length} answers differ`).toEqual([]);
      expect([...interrupted.values()].flat()).toContain('committed');
      await expectStoreToMatch(store, tenantId, expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('sync pipeline on the embedded store (PGlite): the same property', () => {
  let dir: string;
  let store: ProductStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sync-pglite-'));
    store = await openProductStore({ kind: 'embedded', dataDir: dir });
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('PGlite: duplicates, reordering, conflicts, failures between steps and lost answers', async () => {
    await property(store, 'lite');
  }, 300_000);
});
