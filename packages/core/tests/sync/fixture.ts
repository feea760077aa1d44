/**
 * A small sync declaration over the product store's tables, so the engine is tested on its own
 * (the product subgraph's real declaration is tested through GraphQL in subgraphs/product/tests).
 */
import { badUserInput } from '../../src/errors.js';
import { instant } from '../../src/sync/payload.js';
import { createSyncPipeline, type SyncPipeline, type SyncPipelineOptions } from '../../src/sync/engine.js';
import { defineSync, type RowChange, type SyncEvent } from '../../src/sync/types.js';
import { toDay, unitInterval } from '../../src/validate.js';

export interface UsagePayload {
  customerId: string;
  period: string;
  feature: string;
  usageCount?: number;
  adoptionScore?: number;
  at: Date | string;
}

export interface AdoptionPayload {
  customerId: string;
  period: string;
  rate: number;
  at: Date | string;
}

/** The FeatureUsage row and source time every usage kind writes with. */
const usageKey = (p: UsagePayload) => ({ customerId: p.customerId, periodStart: toDay(p.period), feature: p.feature });
const usageTime = (p: UsagePayload) => instant('at', p.at);

/** How often the adoption kind's loadFacts ran (the engine must call it once per batch). */
export const factLoads = { count: 0 };

export const definition = defineSync({
  domain: 'product',
  models: {
    FeatureUsage: { key: ['customerId', 'periodStart', 'feature'], owners: { usageCount: ['analytics'] } },
    AdoptionMetrics: { key: ['customerId', 'periodStart'] },
  },
  kinds: [
    {
      name: 'usage',
      sourceTimeField: 'at',
      sourceTime: usageTime,
      map(p: UsagePayload): RowChange[] {
        if (p.usageCount !== undefined && p.usageCount < 0) throw badUserInput('usageCount', 'must be at least 0');
        const fields: Record<string, unknown> = {
          periodEnd: toDay(p.period),
          category: 'CORE',
          usageCount: p.usageCount ?? 0,
          adoptionScore: unitInterval('adoptionScore', p.adoptionScore ?? 0),
          successCorrelation: 0.5,
        };
        return [
          {
            model: 'FeatureUsage',
            key: usageKey(p),
            fields,
          },
        ];
      },
      quality: {
        required: ['customerId', 'period', 'feature', 'usageCount'],
        optional: ['adoptionScore'],
        validity: (p: UsagePayload) => [{ field: 'usageCount', ok: (p.usageCount ?? 0) < 1000 }],
      },
    },
    {
      name: 'usage_update',
      mode: 'update',
      sourceTimeField: 'at',
      sourceTime: usageTime,
      map: (p: UsagePayload): RowChange[] => [
        {
          model: 'FeatureUsage',
          key: usageKey(p),
          fields: { usageCount: p.usageCount ?? 0 },
        },
      ],
      quality: { required: [], optional: [] },
    },
    {
      name: 'usage_insert',
      mode: 'insert',
      sourceTimeField: 'at',
      sourceTime: usageTime,
      map: (p: UsagePayload): RowChange[] => [
        {
          model: 'FeatureUsage',
          key: usageKey(p),
          fields: {
            periodEnd: toDay(p.period),
            category: 'ADVANCED',
            usageCount: p.usageCount ?? 0,
            adoptionScore: 0,
            successCorrelation: 0,
          },
        },
      ],
      quality: { required: [], optional: [] },
    },
    {
      name: 'adoption',
      sourceTimeField: 'at',
      sourceTime: (p: AdoptionPayload) => instant('at', p.at),
      map: (p: AdoptionPayload): RowChange[] => [
        {
          model: 'AdoptionMetrics',
          key: { customerId: p.customerId, periodStart: toDay(p.period) },
          fields: {
            periodEnd: toDay(p.period),
            overallAdoptionRate: p.rate,
            featureDiscoveryRate: 0.5,
            activationTimeDays: 14,
            maturityLevel: 'INTERMEDIATE',
            highUsageHealth: 0.5,
            featureCompleteness: 0.5,
            roiAchievement: 0.5,
          },
        },
      ],
      quality: {
        required: ['customerId', 'rate'],
        optional: [],
        async loadFacts(db, tenantId) {
          factLoads.count++;
          const rows = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "FeatureUsage" WHERE "tenantId" = $1`,
            tenantId,
          );
          return rows[0]?.n ?? 0;
        },
        consistency: (_p: AdoptionPayload, facts) => [{ field: 'rate', ok: (facts as number) > 0 }],
      },
    },
  ],
});

/** Which column of each fixture model names its customer (the engine's customer checks and scope). */
export const CUSTOMER_KEYS = { FeatureUsage: 'customerId', AdoptionMetrics: 'customerId' };

/**
 * The fixture's pipeline for one tenant over `client`: every source claimable, all customers in
 * scope, an admin's default source; `overrides` change any of it.
 */
export function fixturePipeline(
  client: SyncPipelineOptions['client'],
  tenantId: string | null,
  overrides: Partial<SyncPipelineOptions> = {},
): SyncPipeline {
  return createSyncPipeline({
    claimableSources: 'all',
    actor: { type: 'user', id: 'u1', role: 'admin' },
    definition,
    client,
    scope: { tenantId, customerIds: null },
    customerKeys: CUSTOMER_KEYS,
    defaultSource: 'admin:u1',
    ...overrides,
  });
}

/** A `usage` event maker: cust_a's `email` usage of November 2026 at `at`, with `payload` and `extra` over it. */
export function usageEventAt(at: string) {
  return (payload: Partial<UsagePayload> = {}, extra: Partial<SyncEvent> = {}): SyncEvent => ({
    kind: 'usage',
    payload: {
      customerId: 'cust_a',
      period: '2026-11-01',
      feature: 'email',
      usageCount: 5,
      adoptionScore: 0.5,
      at,
      ...payload,
    },
    ...extra,
  });
}
