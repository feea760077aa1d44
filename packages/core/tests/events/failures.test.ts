/**
 * Failures and recovery: transient handler failures retried with backoff (applied once), failures
 * past maxAttempts and permanent errors dead-lettered with the reason and attempts, replay of a
 * dead letter; two relays on one PostgreSQL store; a NATS server killed and restarted mid-stream;
 * replay from a cursor and from a time (the inbox skips what was applied).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentEventError } from '../../src/events/types.js';
import { createNatsBus } from '../../src/events/bus-nats.js';
import { startRelay } from '../../src/events/relay.js';
import {
  appliedRuns,
  countOf,
  expectExactlyOnceInOrder,
  mirrorConsumer,
  openPath,
  PATHS,
  startOwnNats,
  waitFor,
  type EventPath,
} from './harness.js';

let open: EventPath | undefined;
afterEach(async () => {
  await open?.stop();
  open = undefined;
});

describe.each(PATHS.filter((p) => p.store === 'postgres'))('$bus bus: retries and dead letters', (setup) => {
  it.each([1, 3, 5])(
    'an event failing %i times, then succeeding, is applied once (in place, in order)',
    async (failures) => {
      const tries = new Map<string, number>();
      let victim: string | undefined;
      open = await openPath(setup, [
        mirrorConsumer({
          fail(eventId) {
            victim ??= eventId;
            if (eventId !== victim) return;
            const n = (tries.get(eventId) ?? 0) + 1;
            tries.set(eventId, n);
            if (n <= failures) throw new Error(`transient ${n}`);
          },
        }),
      ]);
      await open.write(12, { customers: 2 });
      await expectExactlyOnceInOrder(open);
      expect(tries.get(victim ?? '')).toBe(failures + 1);
      expect(await countOf(open.pair.consumer.sql, `SELECT count(*) AS n FROM "hub_event_dead_letter"`)).toBe(0);
    },
  );

  it.each([
    { kind: 'transient', maxAttempts: 3, expectedAttempts: 3 },
    { kind: 'permanent', maxAttempts: 8, expectedAttempts: 1 },
  ])(
    'a $kind failure is dead-lettered after $expectedAttempts attempt(s), the rest flows on; the letter replays',
    async ({ kind, maxAttempts, expectedAttempts }) => {
      let victim: string | undefined;
      let broken = true;
      const path = await openPath(setup, [
        mirrorConsumer({
          maxAttempts,
          fail(eventId) {
            victim ??= eventId;
            if (eventId !== victim || !broken) return;
            throw kind === 'permanent' ? new PermanentEventError('cannot apply') : new Error('still down');
          },
        }),
      ]);
      open = path;
      await path.write(10, { customers: 3 });
      const letter = await waitFor('a dead letter', async () => {
        const [row] = await path.pair.consumer.sql.query<{
          id: string;
          event_id: string;
          attempts: number;
          reason: string;
        }>(`SELECT "id"::text, "event_id"::text, "attempts", "reason" FROM "hub_event_dead_letter"`);
        return row;
      });
      expect(letter.event_id).toBe(victim);
      expect(letter.attempts).toBe(expectedAttempts);
      expect(letter.reason).toContain(kind === 'permanent' ? 'PermanentEventError: cannot apply' : 'still down');
      await waitFor('the others applied', async () =>
        (await appliedRuns(path.pair.consumer.sql)).length === 9 ? true : undefined,
      );
      // Fixed: the admin's replay applies it once; a second replay finds it in the inbox.
      broken = false;
      const [consumer] = path.runtime.consumers;
      if (!consumer) throw new Error('no consumer');
      const [stored] = await open.pair.consumer.sql.query<{ envelope: unknown }>(
        `SELECT "envelope" FROM "hub_event_dead_letter" WHERE "id" = $1::uuid`,
        [letter.id],
      );
      const envelope = typeof stored?.envelope === 'string' ? JSON.parse(stored.envelope) : stored?.envelope;
      expect((await open.runtime.process(consumer, envelope)).outcome).toBe('applied');
      expect((await open.runtime.process(consumer, envelope)).outcome).toBe('duplicate');
      expect((await appliedRuns(open.pair.consumer.sql)).length).toBe(10);
    },
  );
});

describe('two relay workers on one PostgreSQL store', () => {
  it.each([2, 3])(
    '%i relays at once, the leader stopped mid-stream: the NATS stream holds each event once, in order',
    async (relays) => {
      open = await openPath({ store: 'postgres', bus: 'nats' }, [mirrorConsumer()]);
      const path = open;
      const extra = await Promise.all(
        Array.from({ length: relays - 1 }, async () => {
          const bus = await createNatsBus({
            servers: 'nats://127.0.0.1:4222',
            prefix: (path.producerBus as unknown as { streamName(d: string): string })
              .streamName('product')
              .replace(/_PRODUCT$/, ''),
          });
          const relay = await startRelay({
            domain: 'product',
            store: path.pair.producer.sql,
            storeConfig: path.pair.producer.config,
            bus,
            pollMs: 100,
            batchSize: 5,
          });
          return { bus, relay };
        }),
      );
      const writing = Promise.all([0, 1, 2].map((writer) => path.write(25, { writer, customers: 4 })));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The first relay gives up the lock mid-stream; another takes over.
      await path.relay.stop();
      await writing;
      await expectExactlyOnceInOrder(path);
      const leaders = extra.filter((e) => e.relay.leader).length;
      expect(leaders).toBe(1);
      const stream = await path.consumerBus.read('product', { from: 'beginning' }, 1000);
      const outbox = await path.pair.producer.sql.query<{ id: string }>(
        `SELECT "id"::text FROM "hub_sync_outbox" ORDER BY "hub_sync_outbox"."seq"`,
      );
      expect(stream.map((e) => e.id)).toEqual(outbox.map((r) => r.id));
      for (const e of extra) {
        await e.relay.stop();
        await e.bus.close();
      }
    },
  );
});

describe('NATS restarted', () => {
  it('killed while events are written and consumed, restarted: nothing lost, nothing applied twice', async () => {
    const nats = await startOwnNats();
    try {
      open = await openPath({ store: 'postgres', bus: 'nats' }, [mirrorConsumer()], { nats: nats.url });
      await open.write(15);
      await nats.kill();
      await open.write(15); // committed while the bus is down: the relay keeps retrying
      await nats.restart();
      await open.write(15);
      await expectExactlyOnceInOrder(open, 'health.mirror', 90_000);
    } finally {
      await open?.stop();
      open = undefined;
      await nats.stop();
    }
  });
});

describe.each(PATHS.filter((p) => p.store === 'postgres'))('$bus bus: replay', (setup) => {
  it('from a cursor and from a time: the live consumer skips all (inbox), a new one applies exactly the events after', async () => {
    open = await openPath(setup, [mirrorConsumer(), mirrorConsumer({ name: 'health.mirror-late' })]);
    await open.write(10);
    await expectExactlyOnceInOrder(open);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const middle = new Date();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Another writer: new values (an event that changes nothing has no outbox row).
    await open.write(6, { writer: 1 });
    await expectExactlyOnceInOrder(open);
    const all = await open.consumerBus.read('product', { from: 'beginning' }, 100);
    expect(all).toHaveLength(16);
    const cursor = all[3]?.cursor ?? '';
    const fromCursor = await open.runtime.replay({ producer: 'product', from: { from: 'cursor', cursor } });
    expect(fromCursor).toEqual([
      { consumer: 'health.mirror', read: 12, redriven: 0, skipped: 12, failed: 0 },
      { consumer: 'health.mirror-late', read: 12, redriven: 0, skipped: 12, failed: 0 },
    ]);
    // Forget what the late consumer did, as if it were new: replay from the time re-drives only the later 6.
    await open.pair.consumer.sql.query(`DELETE FROM "hub_event_inbox" WHERE "consumer" = 'health.mirror-late'`);
    const fromTime = await open.runtime.replay({
      producer: 'product',
      from: { from: 'time', time: middle },
      consumer: 'health.mirror-late',
    });
    expect(fromTime).toEqual([{ consumer: 'health.mirror-late', read: 6, redriven: 6, skipped: 0, failed: 0 }]);
    const late = await appliedRuns(open.pair.consumer.sql, 'health.mirror-late');
    expect(late.slice(16).map((r) => r.event_id)).toEqual(all.slice(10).map((e) => e.id));
  });
});
