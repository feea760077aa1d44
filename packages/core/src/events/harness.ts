/**
 * Runs a consumer's handler the way the consumer runtime does, without a bus: one transaction of the
 * consuming store, `ctx.sync` = the consuming domain's pipeline bound to it, writing as the
 * consumer's source (tenant-wide, customers not re-checked: the producer checked them). For tests of
 * a domain's handlers against a real store and real envelopes, and for in-process callers that
 * drive a handler directly. The runtime (events/consumer.ts) adds the inbox row, retries and dead
 * letters around the same call.
 */
import { randomUUID } from 'node:crypto';
import { storeSqlOf, type CustomerKeys } from '@hub/store';
import { createSyncPipeline } from '../sync/engine.js';
import type { SyncDefinition } from '../sync/types.js';
import type { Domain } from '../domains.js';
import type { ConsumerDefinition, EventEnvelope, SyncEventPayload } from './types.js';

export interface HandlerStore {
  /** The consuming domain's store client (opened by openStore). */
  readonly client: unknown;
  readonly definition: SyncDefinition;
  readonly customerKeys: CustomerKeys;
}

/** Runs `consumer.handle` for `event` in one transaction of `store`; a throw rolls it all back. */
export async function runHandler(consumer: ConsumerDefinition, store: HandlerStore, event: EventEnvelope): Promise<void> {
  const driver = storeSqlOf(store.client as object);
  if (!driver) throw new Error('runHandler: the store client has no driver');
  await driver.transaction(async (tx) => {
    const pipeline = createSyncPipeline({
      definition: store.definition,
      client: store.client,
      scope: { tenantId: event.tenantId, customerIds: null },
      customerKeys: store.customerKeys,
      defaultSource: consumer.source,
      claimableSources: new Set([consumer.source]),
      transaction: tx,
    });
    await consumer.handle({ event, tx, sync: { apply: (events) => pipeline.apply(events) } });
  });
}

let cursor = 0;

/** An envelope as a relay would build it from a producer's outbox row (tests; ids are fresh UUIDs). */
export function syncEnvelope(options: {
  readonly domain: Domain;
  readonly kind: string;
  readonly tenantId: string;
  readonly customerId: string | null;
  readonly occurredAt: Date;
  readonly rows: SyncEventPayload['rows'];
  readonly data?: Record<string, unknown>;
  readonly source?: string;
  readonly id?: string;
}): EventEnvelope {
  const payload: SyncEventPayload = {
    idempotencyKey: randomUUID(),
    outcome: 'APPLIED',
    data: options.data ?? {},
    rows: options.rows,
  };
  return {
    id: options.id ?? randomUUID(),
    type: `${options.domain}.${options.kind}`,
    tenantId: options.tenantId,
    customerId: options.customerId,
    domain: options.domain,
    source: options.source ?? 'test',
    occurredAt: options.occurredAt.toISOString(),
    committedAt: new Date().toISOString(),
    schemaVersion: 1,
    cursor: String(++cursor),
    payload: payload as unknown as Record<string, unknown>,
  };
}
