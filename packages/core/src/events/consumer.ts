/**
 * The consumer runtime: runs a domain's `ConsumerDefinition`s in its process, against its store.
 *
 * Per delivery, one transaction of the consuming store: claim `(consumer, event id)` in
 * `hub_event_inbox` (already there: a redelivery, nothing to do), advance the consumer's cursor, run
 * the handler with that transaction and the domain's sync pipeline bound to it, commit, then ack.
 * A crash anywhere before the commit leaves nothing; after it, the redelivery finds the inbox row.
 *
 * Failures: a `PermanentEventError` is dead-lettered at once; any other throw is retried in place
 * (the stream waits, so later events of the same customer never overtake it) after an exponential
 * backoff with full jitter, and dead-lettered after `maxAttempts`. Dead letters keep the envelope;
 * `replayDeadLetter` re-runs one, `replay` re-drives consumers from a position of the log (the inbox
 * skips what was applied).
 */
import type { CustomerKeys, CustomerVerifier, SqlTx, StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import { createSyncPipeline } from '../sync/engine.js';
import type { SyncDefinition } from '../sync/types.js';
import { advanceCursor, claimInbox, writeDeadLetter } from './inbox.js';
import {
  PermanentEventError,
  type ConsumerDefinition,
  type Delivery,
  type EventBus,
  type EventEnvelope,
  type StartPosition,
  type Subscription,
} from './types.js';

export const DEFAULT_MAX_ATTEMPTS = 8;

export interface BackoffPolicy {
  /** First retry's ceiling. @default 200 */
  readonly baseMs: number;
  /** Largest ceiling. @default 30000 */
  readonly maxMs: number;
}

/** Full jitter (AWS architecture blog): uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface ConsumerMetrics {
  processed(consumer: string, outcome: 'applied' | 'duplicate'): void;
  failed(consumer: string, outcome: 'retry' | 'dead_letter'): void;
  /** Seconds from the producing commit to this consumer's commit. */
  lag(consumer: string, seconds: number): void;
}

export interface ConsumerRuntimeOptions {
  readonly domain: Domain;
  /** The consuming store's client (opened by openStore): the sync pipeline runs on its driver. */
  readonly client: unknown;
  readonly store: StoreSql;
  readonly bus: EventBus;
  readonly sync: SyncDefinition;
  readonly customerKeys: CustomerKeys;
  /** Which customers exist in a tenant, for the pipeline (absent: not checked). */
  readonly verifyCustomers?: ((tenantId: string) => CustomerVerifier | undefined) | undefined;
  /** After a consumer's transaction committed (its writes may have outbox rows: wake the relay). */
  readonly onCommitted?: (() => void) | undefined;
  readonly backoff?: BackoffPolicy | undefined;
  readonly log?: Logger | undefined;
  readonly metrics?: ConsumerMetrics | undefined;
  /** Tests: runs after a consumer's transaction committed, before the ack (a crash point). */
  readonly afterCommit?: ((consumer: string, event: EventEnvelope) => void | Promise<void>) | undefined;
}

export type ProcessOutcome = 'applied' | 'duplicate' | 'ignored' | 'failed';

export interface ReplayReport {
  readonly consumer: string;
  readonly read: number;
  /** Applied now (not in the inbox before). */
  readonly redriven: number;
  /** Already in the inbox: skipped. */
  readonly skipped: number;
  /** Failed (dead-lettered). */
  readonly failed: number;
}

export interface ConsumerRuntime {
  readonly consumers: readonly ConsumerDefinition[];
  /** Subscribes every consumer to its stream. */
  start(): Promise<void>;
  /** Closes the subscriptions; in-flight handlers finish first. */
  stop(): Promise<void>;
  /** One event through a consumer, once (no retry): what replay and dead-letter replay use. */
  process(
    consumer: ConsumerDefinition,
    event: EventEnvelope,
    live?: boolean,
  ): Promise<{ outcome: ProcessOutcome; error?: unknown }>;
  /** Re-drives consumers of `producer` (all, or the one named) from `from`. */
  replay(options: {
    producer: Domain;
    from: StartPosition;
    consumer?: string | undefined;
    /** Only this tenant's events (an admin replays their own tenant). */
    tenantId?: string | undefined;
    limit?: number;
  }): Promise<ReplayReport[]>;
  /** Re-runs one dead letter of `tenantId`; marks it replayed unless it fails again. */
  replayDeadLetter(
    id: string,
    tenantId: string,
  ): Promise<{ id: string; outcome: 'APPLIED' | 'DUPLICATE' | 'FAILED'; reason: string | null } | null>;
}

const isPermanent = (error: unknown) =>
  error instanceof PermanentEventError || (error instanceof Error && error.name === 'PermanentEventError');

const reasonOf = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

export function createConsumerRuntime(
  options: ConsumerRuntimeOptions,
  consumers: readonly ConsumerDefinition[],
): ConsumerRuntime {
  const { store, bus, log } = options;
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 30_000 };
  const names = new Set<string>();
  for (const consumer of consumers) {
    if (names.has(consumer.name)) throw new Error(`consumer ${consumer.name} is declared twice`);
    names.add(consumer.name);
  }
  const subscriptions: Subscription[] = [];
  /** First failure time per (consumer, event) while it is being retried. */
  const firstFailures = new Map<string, Date>();

  /**
   * `live`: a delivery of the subscription, whose position moves with it. A replay's events do not
   * move it: the subscription may not have reached them yet, and must not skip what lies between.
   */
  async function applyInTx(consumer: ConsumerDefinition, event: EventEnvelope, tx: SqlTx, live: boolean) {
    if (live) await advanceCursor(tx, consumer.name, event.domain, bus.kind, event.cursor);
    if (!(await claimInbox(tx, consumer.name, event))) return false;
    const pipeline = createSyncPipeline({
      definition: options.sync,
      client: options.client,
      // A consumer is the domain itself reacting to another's change: tenant-wide within the event's tenant.
      scope: { tenantId: event.tenantId, customerIds: null },
      customerKeys: options.customerKeys,
      verifyCustomers: options.verifyCustomers?.(event.tenantId),
      defaultSource: consumer.source,
      claimableSources: 'all',
      transaction: tx,
      log,
    });
    await consumer.handle({ event, tx, sync: { apply: (events) => pipeline.apply(events) } });
    return true;
  }

  async function process(consumer: ConsumerDefinition, event: EventEnvelope, live = false) {
    if (!consumer.types.includes(event.type)) return { outcome: 'ignored' as const };
    try {
      const applied = await store.transaction((tx) => applyInTx(consumer, event, tx, live));
      if (applied) {
        options.onCommitted?.();
        options.metrics?.lag(consumer.name, Math.max(0, Date.now() - Date.parse(event.committedAt)) / 1000);
      }
      options.metrics?.processed(consumer.name, applied ? 'applied' : 'duplicate');
      return { outcome: applied ? ('applied' as const) : ('duplicate' as const) };
    } catch (error) {
      return { outcome: 'failed' as const, error };
    }
  }

  async function deadLetter(
    consumer: ConsumerDefinition,
    event: EventEnvelope,
    reason: string,
    attempts: number,
    live: boolean,
  ) {
    const key = `${consumer.name}\u0000${event.id}`;
    await store.transaction(async (tx) => {
      await writeDeadLetter(tx, {
        consumer: consumer.name,
        event,
        reason,
        attempts,
        firstFailedAt: firstFailures.get(key) ?? new Date(),
      });
      if (live) await advanceCursor(tx, consumer.name, event.domain, bus.kind, event.cursor);
    });
    firstFailures.delete(key);
    options.metrics?.failed(consumer.name, 'dead_letter');
    log?.error(
      { consumer: consumer.name, eventId: event.id, type: event.type, attempts, reason },
      'event dead-lettered',
    );
  }

  async function onDelivery(consumer: ConsumerDefinition, delivery: Delivery) {
    const { event } = delivery;
    const result = await process(consumer, event, true);
    if (result.outcome !== 'failed') {
      firstFailures.delete(`${consumer.name}\u0000${event.id}`);
      await options.afterCommit?.(consumer.name, event);
      return delivery.ack();
    }
    const key = `${consumer.name}\u0000${event.id}`;
    if (!firstFailures.has(key)) firstFailures.set(key, new Date());
    const maxAttempts = consumer.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const reason = reasonOf(result.error);
    if (!isPermanent(result.error) && delivery.attempt < maxAttempts) {
      const delay = backoffDelay(delivery.attempt, backoff);
      options.metrics?.failed(consumer.name, 'retry');
      log?.warn(
        { consumer: consumer.name, eventId: event.id, attempt: delivery.attempt, delay, reason },
        'event failed; retrying',
      );
      return delivery.retry(delay);
    }
    try {
      await deadLetter(consumer, event, reason, delivery.attempt, true);
    } catch (error) {
      // The store cannot even take the dead letter: try again later rather than lose the event.
      log?.error({ err: error, consumer: consumer.name, eventId: event.id }, 'dead letter not stored; retrying');
      return delivery.retry(backoffDelay(delivery.attempt, backoff));
    }
    return delivery.ack();
  }

  return {
    consumers,
    async start() {
      for (const consumer of consumers) {
        subscriptions.push(
          await bus.subscribe({
            domain: consumer.from,
            durable: consumer.name,
            types: consumer.types,
            start: consumer.start ?? { from: 'beginning' },
            handle: (delivery) => onDelivery(consumer, delivery),
          }),
        );
      }
      if (consumers.length > 0)
        log?.info({ consumers: consumers.map((c) => c.name), bus: bus.kind }, 'consumers started');
    },
    async stop() {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
    },
    process,
    async replayDeadLetter(id, tenantId) {
      const [row] = await store.query<{ consumer: string; envelope: unknown }>(
        `SELECT "consumer", "envelope" FROM "hub_event_dead_letter"
          WHERE "id" = $1::uuid AND "tenant_id" = $2 AND "replayed_at" IS NULL`,
        [id, tenantId],
      );
      if (!row) return null;
      const consumer = consumers.find((c) => c.name === row.consumer);
      if (!consumer) throw new Error(`consumer ${row.consumer} does not run in this process`);
      const event = (typeof row.envelope === 'string' ? JSON.parse(row.envelope) : row.envelope) as EventEnvelope;
      const result = await process(consumer, event);
      if (result.outcome === 'failed') {
        const reason = reasonOf(result.error);
        await store.query(
          `UPDATE "hub_event_dead_letter" SET "attempts" = "attempts" + 1, "reason" = $2, "last_failed_at" = now()
            WHERE "id" = $1::uuid`,
          [id, reason.slice(0, 2000)],
        );
        return { id, outcome: 'FAILED', reason };
      }
      const outcome = result.outcome === 'duplicate' ? 'DUPLICATE' : 'APPLIED';
      await store.query(
        `UPDATE "hub_event_dead_letter" SET "replayed_at" = now(), "replay_outcome" = $2 WHERE "id" = $1::uuid`,
        [id, outcome],
      );
      return { id, outcome, reason: null };
    },
    async replay({ producer, from, consumer: only, tenantId, limit = 100_000 }) {
      const chosen = consumers.filter((c) => c.from === producer && (only === undefined || c.name === only));
      if (only !== undefined && chosen.length === 0)
        throw new Error(`no consumer ${only} of the ${producer} stream in ${options.domain}`);
      const events = (await bus.read(producer, from, limit)).filter(
        (event) => tenantId === undefined || event.tenantId === tenantId,
      );
      const reports: ReplayReport[] = [];
      for (const consumer of chosen) {
        let read = 0;
        let redriven = 0;
        let skipped = 0;
        let failed = 0;
        for (const event of events) {
          if (!consumer.types.includes(event.type)) continue;
          read += 1;
          const result = await process(consumer, event);
          if (result.outcome === 'applied') redriven += 1;
          else if (result.outcome === 'duplicate') skipped += 1;
          else if (result.outcome === 'failed') {
            failed += 1;
            await deadLetter(consumer, event, reasonOf(result.error), 1, false);
          }
        }
        reports.push({ consumer: consumer.name, read, redriven, skipped, failed });
      }
      return reports;
    },
  };
}
