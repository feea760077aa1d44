/**
 * Relay + embedded bus + consumer runtime on real stores (PostgreSQL and PGlite): everything the
 * producer commits reaches the consumer once, in commit order per customer, and the consumer's
 * writes through its own pipeline end equal to the producer's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedBus } from '../../src/events/bus-embedded.js';
import { createConsumerRuntime, type ConsumerRuntime } from '../../src/events/consumer.js';
import { startRelay, type Relay } from '../../src/events/relay.js';
import { CUSTOMER_KEYS, definition, fixturePipeline } from '../sync/fixture.js';
import { countOf, mirrorConsumer, openStorePair, STORE_KINDS, waitFor, type StorePair } from './harness.js';

let open: { pair: StorePair; relay: Relay; runtime: ConsumerRuntime } | undefined;
afterEach(async () => {
  await open?.runtime.stop();
  await open?.relay.stop();
  await open?.pair.close();
  open = undefined;
});

async function startPath(pair: StorePair) {
  const producerBus = createEmbeddedBus({ domain: 'product', store: pair.producer.sql });
  // The consumer's process reads the producer's stream; in one process, straight from its log.
  const consumerBus = createEmbeddedBus({
    domain: 'health',
    store: pair.consumer.sql,
    remote: (_domain, query) => producerBus.readLocal(query),
    waitMs: 2000,
  });
  const relay = await startRelay({
    domain: 'product',
    store: pair.producer.sql,
    storeConfig: pair.producer.config,
    bus: producerBus,
  });
  const runtime = createConsumerRuntime(
    {
      domain: 'health',
      client: pair.consumer.client,
      store: pair.consumer.sql,
      bus: consumerBus,
      sync: definition,
      customerKeys: CUSTOMER_KEYS,
      backoff: { baseMs: 5, maxMs: 50 },
    },
    [mirrorConsumer()],
  );
  await runtime.start();
  open = { pair, relay, runtime };
  return { relay, runtime, producerBus };
}

describe.each(STORE_KINDS)('embedded bus on %s', (kind) => {
  it.each([
    { writers: 1, perWriter: 60, customers: 3 },
    { writers: 4, perWriter: 40, customers: 5 },
  ])(
    '$writers concurrent writers x $perWriter events over $customers customers: each applied once, in commit order per customer',
    async ({ writers, perWriter, customers }) => {
      const pair = await openStorePair(kind);
      const { relay } = await startPath(pair);
      const base = Date.now() - 3_600_000;
      let tick = 0;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const pipeline = fixturePipeline(pair.producer.client, 'acme', { onCommitted: () => relay.wake() });
          for (let i = 0; i < perWriter; i++) {
            const customer = `cust_${(w * 7 + i) % customers}`;
            await pipeline.apply([
              {
                kind: 'usage',
                payload: {
                  customerId: customer,
                  period: '2026-11-01',
                  feature: `f${i % 3}`,
                  usageCount: w * 1000 + i,
                  at: new Date(base + ++tick * 1000).toISOString(),
                },
              },
            ]);
          }
        }),
      );
      const total = await countOf(pair.producer.sql, `SELECT count(*) AS n FROM "hub_sync_outbox"`);
      expect(total).toBe(writers * perWriter);
      await waitFor('every event applied', async () =>
        (await countOf(pair.consumer.sql, `SELECT count(*) AS n FROM "test_applied"`)) >= total ? true : undefined,
      );
      const applied = await pair.consumer.sql.query<{ event_id: string; customer_id: string; cursor: string }>(
        `SELECT "event_id"::text, "customer_id", "cursor"::text FROM "test_applied" ORDER BY "n"`,
      );
      expect(new Set(applied.map((a) => a.event_id)).size).toBe(total);
      expect(applied).toHaveLength(total);
      // Per customer, the order applied is the order committed (cursor = outbox seq = commit order).
      const byCustomer = new Map<string, number[]>();
      for (const a of applied)
        byCustomer.set(a.customer_id, [...(byCustomer.get(a.customer_id) ?? []), Number(a.cursor)]);
      for (const cursors of byCustomer.values()) expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
      const rows = (sql: typeof pair.producer.sql) =>
        sql.query(`SELECT "customerId", "feature", "usageCount" FROM "FeatureUsage" ORDER BY 1, 2`);
      expect(await rows(pair.consumer.sql)).toEqual(await rows(pair.producer.sql));
      await waitFor('outbox marked published', async () =>
        (await countOf(
          pair.producer.sql,
          `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE "published_at" IS NULL`,
        )) === 0
          ? true
          : undefined,
      );
    },
  );
});
