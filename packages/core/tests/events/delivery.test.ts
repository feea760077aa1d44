/**
 * Relay + bus + consumer runtime on real stores, on every path (embedded bus on PostgreSQL and on
 * PGlite, NATS JetStream on PostgreSQL): whatever the producer commits, from concurrent writers,
 * reaches the consumer exactly once and in commit order per customer; handled one event per
 * transaction (`handle`) and in batches (`handleBatch`: several events per transaction, so a
 * customer's events meet within a batch and across batches).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UNPUBLISHED } from '../../src/events/relay.js';
import {
  countOf,
  expectExactlyOnceInOrder,
  mirrorConsumer,
  openPath,
  pathName,
  PATHS,
  waitFor,
  type EventPath,
} from './harness.js';

let path: EventPath | undefined;
afterEach(async () => {
  await path?.stop();
  path = undefined;
});

describe.each(PATHS)('$bus bus on $store', (setup) => {
  it.each([
    { writers: 1, perWriter: 50, customers: 3, batched: false },
    { writers: 4, perWriter: 30, customers: 5, batched: false },
    { writers: 1, perWriter: 50, customers: 3, batched: true },
    { writers: 4, perWriter: 30, customers: 5, batched: true },
  ])(
    '$writers concurrent writers x $perWriter events over $customers customers, batched $batched: each applied once, in commit order per customer',
    async ({ writers, perWriter, customers, batched }) => {
      path = await openPath(setup, [mirrorConsumer({ batched })]);
      const open = path;
      await Promise.all(Array.from({ length: writers }, (_, writer) => open.write(perWriter, { customers, writer })));
      await expectExactlyOnceInOrder(open);
      await waitFor('outbox published', async () =>
        (await countOf(open.pair.producer.sql, `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`)) ===
        0
          ? true
          : undefined,
      );
      expect(await open.consumerBus.lag('product', 'health.mirror')).toEqual({ pending: 0, oldestCommittedAt: null });
      expect(pathName(setup)).toContain(setup.bus);
    },
    // PGlite (one WASM thread, sharing this 2-core machine with the other suites) takes up to ~50 s
    // for the 120 events with their audit entries at load average 10-16; PostgreSQL a few seconds.
    180_000,
  );
});

describe.each(PATHS)('consumer lag per tenant, $bus bus on $store', (setup) => {
  it("counts a stuck consumer's pending events of each tenant apart, and all of them together", async () => {
    // Every attempt fails (and is retried, never dead-lettered), so nothing is acknowledged.
    path = await openPath(setup, [
      mirrorConsumer({
        maxAttempts: 1000,
        fail: () => {
          throw new Error('stuck');
        },
      }),
    ]);
    const open = path;
    await open.write(6, { tenant: 'acme' });
    await open.write(3, { tenant: 'globex' });
    await waitFor('outbox published', async () =>
      (await countOf(open.pair.producer.sql, `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`)) === 0
        ? true
        : undefined,
    );
    const [oldest] = await open.pair.producer.sql.query<{ acme: Date | string; globex: Date | string }>(
      `SELECT min("committed_at") FILTER (WHERE "tenant_id" = 'acme') AS acme,
              min("committed_at") FILTER (WHERE "tenant_id" = 'globex') AS globex FROM "hub_sync_outbox"`,
    );
    for (const bus of [open.consumerBus, open.producerBus]) {
      expect(await bus.lag('product', 'health.mirror', 'acme')).toEqual({
        pending: 6,
        oldestCommittedAt: new Date(oldest?.acme ?? NaN).toISOString(),
      });
      expect(await bus.lag('product', 'health.mirror', 'globex')).toEqual({
        pending: 3,
        oldestCommittedAt: new Date(oldest?.globex ?? NaN).toISOString(),
      });
      expect(await bus.lag('product', 'health.mirror', 'initech')).toEqual({ pending: 0, oldestCommittedAt: null });
      expect((await bus.lag('product', 'health.mirror')).pending).toBe(9);
    }
  });
});
