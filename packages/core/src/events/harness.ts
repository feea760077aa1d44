/**
 * Runs a consumer's handler the way the consumer runtime does, without a bus: one transaction of the
 * consuming store, `ctx.sync` = the consuming domain's pipeline bound to it, writing as the
 * consumer's source (tenant-wide, customers not re-checked: the producer checked them). For tests of
 * a domain's handlers against a real store and real envelopes, and for in-process callers that
 * drive a handler directly. The runtime (events/consumer.ts) adds the inbox row, retries and dead
 * letters around the same call.
 */
import { randomUUID } from 'node:crypto';
import { storeSqlOf, type CustomerKeys, type StoreSql } from '@hub/store';
import { consumerActor } from '../audit.js';
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
export async function runHandler(
  consumer: ConsumerDefinition,
  store: HandlerStore,
  event: EventEnvelope,
): Promise<void> {
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
      actor: consumerActor(consumer.name),
      transaction: tx,
    });
    await consumer.handle({ event, tx, sync: { apply: (events) => pipeline.apply(events) } });
  });
}

/**
 * Runs a batch the way the runtime does: per tenant of `events` (in their order), one transaction
 * of `store` with `consumer.handleBatch` (or `handle` per event when it has none).
 */
export async function runBatchHandler(
  consumer: ConsumerDefinition,
  store: HandlerStore,
  events: readonly EventEnvelope[],
): Promise<void> {
  const driver = storeSqlOf(store.client as object);
  if (!driver) throw new Error('runBatchHandler: the store client has no driver');
  const byTenant = new Map<string, EventEnvelope[]>();
  for (const event of events) byTenant.set(event.tenantId, [...(byTenant.get(event.tenantId) ?? []), event]);
  for (const [tenantId, group] of byTenant) {
    await driver.transaction(async (tx) => {
      const pipeline = createSyncPipeline({
        definition: store.definition,
        client: store.client,
        scope: { tenantId, customerIds: null },
        customerKeys: store.customerKeys,
        defaultSource: consumer.source,
        claimableSources: new Set([consumer.source]),
        actor: consumerActor(consumer.name),
        transaction: tx,
      });
      const sync = { apply: (batch: Parameters<typeof pipeline.apply>[0]) => pipeline.apply(batch) };
      if (consumer.handleBatch) await consumer.handleBatch({ tenantId, events: group, tx, sync });
      else for (const event of group) await consumer.handle({ event, tx, sync });
    });
  }
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

/**
 * The envelopes of `domain`'s outbox rows after `afterSeq`, in seq order, as a relay builds them
 * (tests: a producer's real events, handed to another domain's handler without a bus).
 */
export async function outboxEnvelopes(
  client: unknown,
  domain: Domain,
  afterSeq = 0,
  type?: string,
): Promise<EventEnvelope[]> {
  const driver = storeSqlOf(client as object);
  if (!driver) throw new Error('outboxEnvelopes: the store client has no driver');
  const rows = await driver.query<{
    seq: string;
    id: string;
    tenant_id: string;
    customer_id: string | null;
    type: string;
    source: string;
    payload: Record<string, unknown>;
    occurred_at: Date;
    committed_at: Date;
  }>(
    `SELECT seq::text, id::text, tenant_id, customer_id, type, source, payload, occurred_at, committed_at
       FROM hub_sync_outbox WHERE seq > $1 AND ($2::text IS NULL OR type = $2) ORDER BY seq`,
    [afterSeq, type ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    domain,
    source: row.source,
    occurredAt: new Date(row.occurred_at).toISOString(),
    committedAt: new Date(row.committed_at).toISOString(),
    schemaVersion: 1,
    cursor: row.seq,
    payload: row.payload,
  }));
}

/** A domain's pipeline over its store, tenant-wide, trusted (tests: a producer writing real events). */
export function storePipeline(store: HandlerStore, tenantId: string, source: string) {
  return createSyncPipeline({
    definition: store.definition,
    client: store.client,
    scope: { tenantId, customerIds: null },
    customerKeys: store.customerKeys,
    defaultSource: source,
    claimableSources: 'all',
    actor: { type: 'integration', id: source, role: 'integration' },
  });
}

/**
 * A health event (`health.customer_health_sync`) as the health domain emits it: `data` is the brief's
 * example payload camelCased, for `customerId` at `at`, with `metrics` and `impacts` replaced where given.
 */
export function healthEnvelope(options: {
  readonly tenantId: string;
  readonly customerId: string;
  readonly at: Date;
  readonly metrics?: {
    usageScore: number;
    engagementScore: number;
    supportSatisfaction: number;
    paymentStatus?: string;
  };
  readonly riskIndicators?: readonly string[];
  readonly campaignTriggers?: readonly string[];
  readonly segment?: string;
  readonly expansionOpportunities?: readonly string[];
  readonly renewalConfidence?: number;
  readonly id?: string;
}): EventEnvelope {
  const data = {
    customerId: options.customerId,
    healthMetrics: {
      usageScore: 85,
      engagementScore: 78,
      supportSatisfaction: 92,
      paymentStatus: 'current',
      ...options.metrics,
    },
    trendAnalysis: {
      _30DayChange: '+5',
      riskIndicators: options.riskIndicators ?? [],
      improvementAreas: ['feature_adoption'],
    },
    domainImpacts: {
      marketing: {
        campaignTriggers: options.campaignTriggers ?? ['expansion_ready'],
        segment: options.segment ?? 'high_value_growth',
      },
      sales: {
        expansionOpportunities: options.expansionOpportunities ?? ['premium_upgrade'],
        renewalConfidence: options.renewalConfidence ?? 0.95,
      },
      product: { featureAdoptionFocus: ['advanced_analytics'], betaInterests: ['ai_insights'] },
    },
    syncTimestamp: options.at.toISOString(),
    dataQualityScore: 0.98,
  };
  return syncEnvelope({
    domain: 'health',
    kind: 'customer_health_sync',
    tenantId: options.tenantId,
    customerId: options.customerId,
    occurredAt: options.at,
    source: 'health-engine',
    data,
    rows: [{ model: 'HealthScore', id: options.customerId, key: { customerId: options.customerId }, changed: {} }],
    ...(options.id ? { id: options.id } : {}),
  });
}

/** The store's own driver (tests' raw SQL); throws when the client has none. */
export function driverOf(client: unknown): StoreSql {
  const driver = storeSqlOf(client as object);
  if (!driver) throw new Error('the store client has no driver (open it with openStore)');
  return driver;
}

/** `HandlerStore` of a subgraph definition over its running store's client; throws without a sync declaration. */
export function handlerStoreOf(
  def: { readonly name: string; readonly sync?: SyncDefinition | undefined; readonly customerKeys: CustomerKeys },
  client: unknown,
): HandlerStore {
  if (!def.sync) throw new Error(`${def.name} declares no sync kinds`);
  return { client, definition: def.sync, customerKeys: def.customerKeys };
}
