/**
 * The consumer runtime: runs a domain's `ConsumerDefinition`s in its process, against its store.
 *
 * Per batch of ready deliveries of one stream (the bus's `BatchPolicy`: up to 256 events, 5 ms
 * linger), one transaction of the consuming store: claim every `(consumer, event id)` in
 * `hub_event_inbox` and advance the consumer's cursor, in one statement (already in the inbox: a
 * redelivery, skipped), run the handler for the new events in stream order (`handleBatch` once, or
 * `handle` per event) with that transaction and the domain's sync pipeline bound to it (one
 * pipeline per tenant of the batch), commit, then ack them all. A crash anywhere before the commit leaves nothing; after it,
 * the redeliveries find their inbox rows.
 *
 * Failures: a failed batch is split in halves, first half first, until the failing event is alone
 * (the others commit in order around it). Alone, a `PermanentEventError` is dead-lettered at once;
 * any other throw is retried in place (the bus redelivers it and everything after it, so later
 * events of the same customer never overtake it) after an exponential backoff with full jitter, and
 * dead-lettered after `maxAttempts`. Dead letters keep the envelope;
 * `replayDeadLetter` re-runs one, `replay` re-drives consumers from a position of the log (the inbox
 * skips what was applied).
 */
import { consumerActor } from '../audit.js';
import type { CustomerKeys, CustomerVerifier, SqlTx, StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import { createSyncPipeline } from '../sync/engine.js';
import { inSpan } from '../tracing.js';
import { SpanKind } from '@opentelemetry/api';
import type { SyncDefinition } from '../sync/types.js';
import { advanceCursor, claimInboxBatch, writeDeadLetter } from './inbox.js';
import {
  DEFAULT_BATCH,
  PermanentEventError,
  type BatchPolicy,
  type ConsumerContext,
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
  /** How deliveries are grouped into one transaction. @default DEFAULT_BATCH (256 events, 5 ms linger) */
  readonly batch?: BatchPolicy | undefined;
  /**
   * After a batch of a subscription committed, before its acks, with the batch's events (a crash
   * point of the tests; the benchmark's latency probe).
   */
  readonly afterCommit?: ((consumer: string, events: readonly EventEnvelope[]) => void | Promise<void>) | undefined;
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

  function pipelineIn(consumer: ConsumerDefinition, tenantId: string, tx: SqlTx): ConsumerContext['sync'] {
    const pipeline = createSyncPipeline({
      definition: options.sync,
      client: options.client,
      // A consumer is the domain itself reacting to another's change: tenant-wide within the event's tenant.
      scope: { tenantId, customerIds: null },
      customerKeys: options.customerKeys,
      verifyCustomers: options.verifyCustomers?.(tenantId),
      defaultSource: consumer.source,
      claimableSources: 'all',
      actor: consumerActor(consumer.name),
      transaction: tx,
      log,
    });
    return { apply: (events) => pipeline.apply(events) };
  }

  /**
   * One transaction: claims `group` (events of one tenant) in the inbox, handles the new ones in
   * order and, with `cursor`, moves the consumer's position there. Returns the events applied now.
   */
  async function applyGroup(
    consumer: ConsumerDefinition,
    group: readonly EventEnvelope[],
    cursor: EventEnvelope | undefined,
  ): Promise<EventEnvelope[]> {
    return store.transaction(async (tx) => {
      const move = cursor ? { stream: cursor.domain, bus: bus.kind, cursor: cursor.cursor } : undefined;
      const claimed = await claimInboxBatch(tx, consumer.name, group, move);
      const fresh = group.filter((event) => claimed.has(event.id.toLowerCase()));
      const [first] = fresh;
      if (!first) return fresh;
      const sync = pipelineIn(consumer, first.tenantId, tx);
      if (consumer.handleBatch) await consumer.handleBatch({ tenantId: first.tenantId, events: fresh, tx, sync });
      else for (const event of fresh) await consumer.handle({ event, tx, sync });
      return fresh;
    });
  }

  /**
   * Applies `batch` (stream order): one transaction per tenant in it, since a pipeline (and its
   * customer check) is per tenant and one apply per transaction keeps the engine's outbox lock at
   * the commit tail; per-customer order is within a tenant. `live`: deliveries of the subscription,
   * whose position moves with them, in the last transaction (an earlier one committed alone is
   * found in the inbox if the batch is redelivered). A replay's events do not move it: the
   * subscription may not have reached them yet, and must not skip what lies between.
   */
  async function processBatch(consumer: ConsumerDefinition, batch: readonly EventEnvelope[], live: boolean) {
    const wanted = batch.filter((event) => consumer.types.includes(event.type));
    const byTenant = new Map<string, EventEnvelope[]>();
    for (const event of wanted) byTenant.set(event.tenantId, [...(byTenant.get(event.tenantId) ?? []), event]);
    const groups = [...byTenant.values()];
    if (groups.length === 0) groups.push([]);
    const applied: EventEnvelope[] = [];
    for (const [i, group] of groups.entries()) {
      const cursor = live && i === groups.length - 1 ? batch.at(-1) : undefined;
      const fresh = await applyGroup(consumer, group, cursor);
      // Its writes may have outbox rows: wake the relay now, even if a later tenant's transaction fails.
      if (fresh.length > 0) options.onCommitted?.();
      applied.push(...fresh);
    }
    const now = Date.now();
    const fresh = new Set(applied.map((event) => event.id));
    for (const event of wanted) {
      if (fresh.has(event.id))
        options.metrics?.lag(consumer.name, Math.max(0, now - Date.parse(event.committedAt)) / 1000);
      options.metrics?.processed(consumer.name, fresh.has(event.id) ? 'applied' : 'duplicate');
    }
    return fresh;
  }

  async function process(consumer: ConsumerDefinition, event: EventEnvelope, live = false) {
    if (!consumer.types.includes(event.type)) return { outcome: 'ignored' as const };
    try {
      const applied = await processBatch(consumer, [event], live);
      return { outcome: applied.has(event.id) ? ('applied' as const) : ('duplicate' as const) };
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

  /** The failure of a delivery alone: retry in place (backoff), or dead-letter it and go on. */
  async function failedAlone(consumer: ConsumerDefinition, delivery: Delivery, error: unknown): Promise<boolean> {
    const { event } = delivery;
    const key = `${consumer.name}\u0000${event.id}`;
    if (!firstFailures.has(key)) firstFailures.set(key, new Date());
    const maxAttempts = consumer.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const reason = reasonOf(error);
    if (!isPermanent(error) && delivery.attempt < maxAttempts) {
      const delay = backoffDelay(delivery.attempt, backoff);
      options.metrics?.failed(consumer.name, 'retry');
      log?.warn(
        { consumer: consumer.name, eventId: event.id, attempt: delivery.attempt, delay, reason },
        'event failed; retrying',
      );
      await delivery.retry(delay);
      return false;
    }
    try {
      await deadLetter(consumer, event, reason, delivery.attempt, true);
    } catch (deadLetterError) {
      // The store cannot even take the dead letter: try again later rather than lose the event.
      log?.error(
        { err: deadLetterError, consumer: consumer.name, eventId: event.id },
        'dead letter not stored; retrying',
      );
      await delivery.retry(backoffDelay(delivery.attempt, backoff));
      return false;
    }
    await delivery.ack();
    return true;
  }

  /**
   * Settles `deliveries` in stream order: one transaction for all of them, else (it failed) the
   * first half, then the second, down to the failing event alone. False when one is to be retried:
   * it and everything after it stay unsettled, and the bus delivers them again.
   */
  async function settle(consumer: ConsumerDefinition, deliveries: readonly Delivery[]): Promise<boolean> {
    if (!consumer.handleBatch && deliveries.length > 1) {
      // `handle` alone: one transaction per event (see ConsumerDefinition.handleBatch).
      for (const delivery of deliveries) if (!(await settle(consumer, [delivery]))) return false;
      return true;
    }
    const events = deliveries.map((d) => d.event);
    let failure: unknown;
    try {
      await processBatch(consumer, events, true);
    } catch (error) {
      failure = error ?? new Error('batch failed');
    }
    if (failure === undefined) {
      for (const event of events) firstFailures.delete(`${consumer.name}\u0000${event.id}`);
      await options.afterCommit?.(consumer.name, events);
      await Promise.all(deliveries.map((d) => d.ack()));
      return true;
    }
    const [only] = deliveries;
    if (deliveries.length === 1 && only) return failedAlone(consumer, only, failure);
    const half = Math.ceil(deliveries.length / 2);
    return (await settle(consumer, deliveries.slice(0, half))) && settle(consumer, deliveries.slice(half));
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
            batch: options.batch ?? DEFAULT_BATCH,
            // One trace per delivered batch (tracing.ts): the consumer's own statements under it.
            handleBatch: (deliveries) =>
              inSpan(
                `consume ${consumer.from}`,
                {
                  kind: SpanKind.CONSUMER,
                  attributes: {
                    'hub.consumer': consumer.name,
                    'messaging.source.name': consumer.from,
                    'messaging.batch.message_count': deliveries.length,
                  },
                },
                async (span) => {
                  const settled = await settle(consumer, deliveries);
                  if (!settled) span?.setAttribute('hub.consumer.redelivered', true);
                },
              ),
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
