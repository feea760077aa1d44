/**
 * Batched deliveries (issue 8 item 8): events that are ready together are applied in one
 * transaction; a batch with a poison event in it (first, middle, last; permanent or transient past
 * its attempts) is split down to that event, which alone is dead-lettered while every other commits
 * once, in order, in few transactions; per-customer order holds within and across batches, also
 * when an event in the middle of a batch is retried in place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentEventError, type EventEnvelope } from '../../src/events/types.js';
import {
  appliedRuns,
  countOf,
  expectExactlyOnceInOrder,
  mirrorConsumer,
  openPath,
  prewritten,
  waitFor,
  type EventPath,
  type PathSetup,
  type StorePair,
} from './harness.js';

const SETUPS: readonly PathSetup[] = [
  { store: 'postgres', bus: 'embedded' },
  { store: 'postgres', bus: 'nats' },
];
/** Long enough a linger that NATS hands over everything already in the stream as one batch. */
const BATCH = { maxEvents: 256, lingerMs: 200 };

let open: EventPath | undefined;
let pair: StorePair | undefined;
afterEach(async () => {
  await open?.stop();
  await pair?.close();
  open = undefined;
  pair = undefined;
});

const CASES = [9, 40].flatMap((size) =>
  (['first', 'middle', 'last'] as const).flatMap((position) =>
    (['permanent', 'transient'] as const).map((kind) => ({ size, position, kind })),
  ),
);

describe.each(SETUPS)('$bus bus on $store', (setup) => {
  it.each(CASES)(
    'a $kind poison event $position in a batch of $size is dead-lettered alone; the others commit once, in order',
    async ({ size, position, kind }) => {
      const written = await prewritten(setup, size);
      pair = written.pair;
      const index = position === 'first' ? 0 : position === 'last' ? size - 1 : Math.floor(size / 2);
      const poison = written.ids[index];
      const commits: (readonly EventEnvelope[])[] = [];
      const maxAttempts = 3;
      open = await openPath(
        setup,
        [
          mirrorConsumer({
            batched: true,
            maxAttempts,
            fail(eventId) {
              if (eventId !== poison) return;
              throw kind === 'permanent' ? new PermanentEventError('poison') : new Error('never works');
            },
          }),
        ],
        { pair, prefix: written.prefix, batch: BATCH, afterCommit: (_c, events) => void commits.push(events) },
      );
      const consumerSql = pair.consumer.sql;
      const letters = await waitFor('the dead letter', async () => {
        const rows = await consumerSql.query<{ event_id: string; attempts: number; reason: string }>(
          `SELECT "event_id"::text, "attempts", "reason" FROM "hub_event_dead_letter"`,
        );
        return rows.length > 0 ? rows : undefined;
      });
      await waitFor('the others applied', async () =>
        (await appliedRuns(consumerSql)).length >= size - 1 ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(letters).toHaveLength(1);
      expect(letters[0]?.event_id).toBe(poison);
      expect(letters[0]?.attempts).toBe(kind === 'permanent' ? 1 : maxAttempts);
      expect(letters[0]?.reason).toContain(kind === 'permanent' ? 'poison' : 'never works');
      const runs = await appliedRuns(consumerSql);
      expect(runs.map((r) => r.event_id)).toEqual(written.ids.filter((id) => id !== poison));
      expect(await countOf(consumerSql, `SELECT count(*) AS n FROM "hub_event_inbox"`)).toBe(size - 1);
      // Split in halves: a handful of transactions, not one per event, and never the poison in one.
      expect(commits.flat().map((e) => e.id)).toEqual(written.ids.filter((id) => id !== poison));
      expect(commits.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)) + 1);
      expect(Math.max(...commits.map((c) => c.length))).toBeGreaterThan(1);
    },
  );

  it.each(['none', 'beta'] as const)(
    'a batch of two tenants (poison in %s): one transaction per tenant, each event once, in order',
    async (poisoned) => {
      const written = await prewritten(setup, 36, { tenants: ['acme', 'beta'] });
      pair = written.pair;
      const events = await pair.producer.sql.query<{ id: string; tenant_id: string }>(
        `SELECT "id"::text, "tenant_id" FROM "hub_sync_outbox" ORDER BY "hub_sync_outbox"."seq"`,
      );
      // A beta event in the middle: the acme transaction commits before the beta one fails.
      const poison = poisoned === 'beta' ? events.filter((e) => e.tenant_id === 'beta')[8]?.id : undefined;
      const commits: (readonly EventEnvelope[])[] = [];
      open = await openPath(
        setup,
        [
          mirrorConsumer({
            batched: true,
            fail(eventId) {
              if (eventId === poison) throw new PermanentEventError('poison');
            },
          }),
        ],
        { pair, prefix: written.prefix, batch: BATCH, afterCommit: (_c, batch) => void commits.push(batch) },
      );
      const consumerSql = pair.consumer.sql;
      const expected = written.ids.filter((id) => id !== poison);
      await waitFor('all applied', async () =>
        (await appliedRuns(consumerSql)).length >= expected.length ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const runs = await appliedRuns(consumerSql);
      expect([...runs.map((r) => r.event_id)].sort()).toEqual([...expected].sort());
      // Per customer (ids differ per tenant) in stream order.
      const seqOf = new Map(written.ids.map((id, i) => [id, i]));
      const byCustomer = new Map<string, number[]>();
      for (const run of runs)
        byCustomer.set(run.customer_id, [...(byCustomer.get(run.customer_id) ?? []), seqOf.get(run.event_id) ?? -1]);
      for (const seqs of byCustomer.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(runs.map((r) => r.customer_id.startsWith('cust_beta_'))).size).toBe(2);
      const letters = await countOf(consumerSql, `SELECT count(*) AS n FROM "hub_event_dead_letter"`);
      expect(letters).toBe(poison ? 1 : 0);
      expect(commits.flat().map((e) => e.id)).toEqual(expected);
      if (!poison && setup.bus === 'embedded') expect(commits).toHaveLength(1);
      // Rows written by one transaction share its xmin: no transaction mixed the tenants, and the
      // one batch of the embedded bus took exactly one per tenant.
      const transactions = await consumerSql.query<{ tenants: number }>(
        `SELECT count(DISTINCT "customer_id" LIKE 'cust_beta_%')::int AS tenants FROM "test_applied" GROUP BY xmin::text`,
      );
      expect(transactions.every((t) => t.tenants === 1)).toBe(true);
      if (!poison && setup.bus === 'embedded') expect(transactions).toHaveLength(2);
    },
  );

  it.each([
    { maxEvents: 7, retried: false },
    { maxEvents: 7, retried: true },
    { maxEvents: 25, retried: true },
  ])(
    'batches of $maxEvents over 3 customers (an event mid-batch retried: $retried): once each, in order within and across batches',
    async ({ maxEvents, retried }) => {
      const written = await prewritten(setup, 60, { customers: 3 });
      pair = written.pair;
      const victim = written.ids[10];
      let failures = 0;
      const commits: (readonly EventEnvelope[])[] = [];
      open = await openPath(
        setup,
        [
          mirrorConsumer({
            batched: true,
            fail(eventId) {
              if (retried && eventId === victim && ++failures <= 2) throw new Error('transient');
            },
          }),
        ],
        {
          pair,
          prefix: written.prefix,
          batch: { maxEvents, lingerMs: 200 },
          afterCommit: (_c, events) => void commits.push(events),
        },
      );
      await expectExactlyOnceInOrder(open);
      expect(commits.flat().map((e) => e.id)).toEqual(written.ids);
      expect(Math.max(...commits.map((c) => c.length))).toBeLessThanOrEqual(maxEvents);
      if (setup.bus === 'embedded' && !retried)
        // Everything was ready: full batches, the remainder last.
        expect(commits.map((c) => c.length)).toEqual([
          ...Array.from({ length: Math.floor(60 / maxEvents) }, () => maxEvents),
          ...(60 % maxEvents ? [60 % maxEvents] : []),
        ]);
      if (retried) expect(failures).toBeGreaterThanOrEqual(3);
    },
  );
});
