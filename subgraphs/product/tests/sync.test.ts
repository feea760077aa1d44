import { describe, expect, it } from 'vitest';
import { acme, gql, globex, useTestSubgraph, viewerFor } from '@hub/core/testing';
import {
  syncBookkeepingQuery,
  syncMutation,
  type SyncAnswer,
  type SyncBookkeepingAnswer,
} from '@hub/core/sync/testing';
import { subgraph } from '../src/server.js';
import { ENTITIES, RECORD, usageInput } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

const SYNC = syncMutation('product');
const BOOKKEEPING = syncBookkeepingQuery('product');

/** The brief's "Product Usage Analytics Sync" payload in camelCase, its feature maps as lists. */
function briefPayload(customerId: string, overrides: Record<string, unknown> = {}) {
  return {
    customerId,
    usagePeriod: '2026-10-01_to_2026-10-31',
    featureUsage: {
      coreFeatures: [
        { feature: 'email_campaigns', usageCount: 45, adoptionScore: 0.85, successCorrelation: 0.92 },
        { feature: 'analytics_dashboard', usageCount: 23, adoptionScore: 0.65, successCorrelation: 0.78 },
      ],
      advancedFeatures: [
        { feature: 'automation_workflows', usageCount: 8, adoptionScore: 0.25, successCorrelation: 0.88 },
        { feature: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 },
      ],
    },
    adoptionMetrics: {
      overallAdoptionRate: 0.72,
      featureDiscoveryRate: 0.45,
      activationTime: '14_days',
      maturityLevel: 'intermediate',
    },
    successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
    syncTimestamp: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

describe('product subgraph: sync API', () => {
  it("applies the brief's usage payload, answers a repeat as DUPLICATE, and serves the rows", async () => {
    const events = [{ source: 'product_analytics', usageAnalyticsSync: briefPayload('cust_00002') }];
    const first = await gql<SyncAnswer<'product'>>(hub.url, SYNC, { events }, acme);
    expect(first.errors).toBeUndefined();
    expect(first.data?.syncProduct.counts).toEqual({ applied: 1, merged: 0, stale: 0, duplicate: 0, rejected: 0 });
    expect(first.data?.syncProduct.results[0]?.quality).toMatchObject({ completeness: 1, validity: 1, timeliness: 1 });
    const again = await gql<SyncAnswer<'product'>>(hub.url, SYNC, { events }, acme);
    expect(again.data?.syncProduct.results[0]).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    const read = await gql<{ _entities: { usage: { feature: string }[]; adoption: { maturityLevel: string } }[] }>(
      hub.url,
      ENTITIES,
      { reps: [{ __typename: 'Customer', id: 'cust_00002' }], period: '2026-10-01' },
      acme,
    );
    expect(read.data?._entities[0]?.usage.map((u) => u.feature).sort()).toEqual([
      'analytics_dashboard',
      'api_integrations',
      'automation_workflows',
      'email_campaigns',
    ]);
    expect(read.data?._entities[0]?.adoption).toMatchObject({ maturityLevel: 'INTERMEDIATE' });
    // Another tenant sees none of it.
    const other = await gql<{ _entities: { usage: unknown[] }[] }>(
      hub.url,
      ENTITIES,
      { reps: [{ __typename: 'Customer', id: 'cust_00002' }], period: '2026-10-01' },
      globex,
    );
    expect(other.data?._entities[0]?.usage).toEqual([]);
  });

  it('rejects bad events one by one with their field, checking customers once per batch in the local replica', async () => {
    const bad = briefPayload('cust_00008');
    let res: Awaited<ReturnType<typeof gql<SyncAnswer<'product'>>>> = { status: 0 };
    const statements = await hub.countStatements(async () => {
      res = await gql<SyncAnswer<'product'>>(
        hub.url,
        SYNC,
        {
          events: [
            { usageAnalyticsSync: briefPayload('cust_00008', { usagePeriod: '2026-09-01_to_2026-09-30' }) },
            {
              usageAnalyticsSync: {
                ...bad,
                featureUsage: {
                  coreFeatures: [{ feature: 'x', usageCount: 1, adoptionScore: 1.5, successCorrelation: 0 }],
                },
              },
            },
            { usageAnalyticsSync: briefPayload('cust_99999') },
            { usageAnalyticsSync: briefPayload('cust_00014', { usagePeriod: 'November' }) },
            { idempotencyKey: 'nothing-set' },
            { usageAnalyticsSync: briefPayload('cust_00020', { usagePeriod: '2026-09-01_to_2026-09-30' }) },
          ],
        },
        acme,
      );
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.syncProduct.results.map((r) => [r.outcome, r.code, r.field])).toEqual([
      ['APPLIED', null, null],
      ['REJECTED', 'BAD_USER_INPUT', 'featureUsage.coreFeatures.0.adoptionScore'],
      ['REJECTED', 'NOT_FOUND', 'customerId'],
      ['REJECTED', 'BAD_USER_INPUT', 'usagePeriod'],
      ['REJECTED', 'BAD_USER_INPUT', 'events.4'],
      ['APPLIED', null, null],
    ]);
    expect(res.data?.syncProduct.counts).toMatchObject({ applied: 2, rejected: 4 });
    expect(res.data?.syncProduct.results[1]?.deadLetterId).toBeTruthy();
    // One look-up for the batch, and one more for cust_99999 once the replica is known to be caught
    // up with the customers stream (it might have been created a moment ago): no call to customers.
    expect(statements['hub_customer_replica']).toBe(2);
    const known = await hub.countStatements(() =>
      gql(
        hub.url,
        SYNC,
        {
          events: [
            { usageAnalyticsSync: briefPayload('cust_00008') },
            { usageAnalyticsSync: briefPayload('cust_00014') },
          ],
        },
        acme,
      ),
    );
    expect(known['hub_customer_replica']).toBe(1);
  });

  it('keeps the sync API to admins and integration accounts; a book role writes its own customers only, through the same pipeline', async () => {
    // u2 owns cust_00002 (and every sixth acme customer after it), not cust_00003.
    const manager = viewerFor('acme', { roles: ['cs_manager'], book: ['u2'] });
    const sync = await gql<SyncAnswer<'product'>>(
      hub.url,
      SYNC,
      { events: [{ usageAnalyticsSync: briefPayload('cust_00002', { usagePeriod: '2026-08-01_to_2026-08-31' }) }] },
      manager,
    );
    expect(sync.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    // The one-event mutation goes through the engine, which applies the viewer's write scope itself.
    const own = await gql(hub.url, RECORD, { input: { ...usageInput, customerId: 'cust_00002' } }, manager);
    expect(own.errors).toBeUndefined();
    const other = await gql(hub.url, RECORD, { input: { ...usageInput, customerId: 'cust_00003' } }, manager);
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const read = await gql(hub.url, BOOKKEEPING, {}, manager);
    expect(read.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const repair = await gql(
      hub.url,
      'mutation { resolveProductConflict(id: "00000000-0000-7000-8000-000000000000", pick: STORED) { outcome } }',
      {},
      manager,
    );
    expect(repair.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const marketing = viewerFor('acme', { roles: ['marketing'] });
    const refused = await gql(hub.url, SYNC, { events: [] }, marketing);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lets an admin read quality, conflicts and dead letters, override a conflict and replay a letter', async () => {
    const period = '2026-07-01_to_2026-07-31';
    const older = new Date(Date.now() - 3_600_000).toISOString();
    // An older copy from another source: stale, its disagreeing fields recorded as conflicts.
    const legacy = {
      source: 'legacy',
      usageAnalyticsSync: briefPayload('cust_00026', {
        usagePeriod: period,
        syncTimestamp: older,
        adoptionMetrics: {
          overallAdoptionRate: 0.1,
          featureDiscoveryRate: 0.45,
          activationTime: '14_days',
          maturityLevel: 'beginner',
        },
      }),
    };
    await gql<SyncAnswer<'product'>>(
      hub.url,
      SYNC,
      { events: [{ source: 'crm', usageAnalyticsSync: briefPayload('cust_00026', { usagePeriod: period }) }] },
      acme,
    );
    const stale = await gql<SyncAnswer<'product'>>(
      hub.url,
      SYNC,
      {
        events: [
          legacy,
          { usageAnalyticsSync: briefPayload('cust_00026', { usagePeriod: period, syncTimestamp: 'not a time' }) },
        ],
      },
      acme,
    );
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const valid = await gql<SyncAnswer<'product'>>(
      hub.url,
      SYNC,
      {
        events: [
          legacy,
          {
            usageAnalyticsSync: briefPayload('cust_00026', {
              usagePeriod: period,
              featureUsage: { coreFeatures: [] },
              adoptionMetrics: {
                overallAdoptionRate: 3,
                featureDiscoveryRate: 0.45,
                activationTime: '14_days',
                maturityLevel: 'beginner',
              },
            }),
          },
        ],
      },
      acme,
    );
    const [staleResult, badResult] = valid.data?.syncProduct.results ?? [];
    expect(staleResult?.outcome).toBe('STALE');
    expect(staleResult?.conflicts.map((c) => c.field).sort()).toEqual(['maturityLevel', 'overallAdoptionRate']);
    expect(badResult).toMatchObject({ outcome: 'REJECTED', field: 'adoptionMetrics.overallAdoptionRate' });

    const book = await gql<SyncBookkeepingAnswer<'product'>>(hub.url, BOOKKEEPING, {}, acme);
    expect(book.errors).toBeUndefined();
    expect(book.data?.sync.product.dataQuality.records).toBeGreaterThanOrEqual(8);
    expect(book.data?.sync.product.syncConflicts.totalCount).toBeGreaterThanOrEqual(2);

    const conflict = staleResult?.conflicts.find((c) => c.field === 'maturityLevel');
    const override = await gql<{ resolveProductConflict: { outcome: string; conflicts: { rule: string }[] } }>(
      hub.url,
      'mutation ($id: ID!) { resolveProductConflict(id: $id, pick: INCOMING) { outcome conflicts { rule } } }',
      { id: conflict?.id },
      acme,
    );
    expect(override.errors).toBeUndefined();
    expect(override.data?.resolveProductConflict).toEqual({ outcome: 'APPLIED', conflicts: [{ rule: 'OVERRIDE' }] });
    const adoption = await gql<{ _entities: { adoption: { maturityLevel: string } }[] }>(
      hub.url,
      ENTITIES,
      { reps: [{ __typename: 'Customer', id: 'cust_00026' }], period: '2026-07-01' },
      acme,
    );
    expect(adoption.data?._entities[0]?.adoption.maturityLevel).toBe('BEGINNER');

    const replay = await gql<{ replayProductDeadLetter: { outcome: string } }>(
      hub.url,
      'mutation ($id: ID!, $event: ProductSyncEventInput) { replayProductDeadLetter(id: $id, event: $event) { outcome } }',
      {
        id: badResult?.deadLetterId,
        event: { usageAnalyticsSync: briefPayload('cust_00026', { usagePeriod: '2026-06-01_to_2026-06-30' }) },
      },
      acme,
    );
    expect(replay.errors).toBeUndefined();
    expect(replay.data?.replayProductDeadLetter.outcome).toBe('APPLIED');
  });
});

describe('product subgraph: record mutations through the pipeline', () => {
  it('answers the same figures with the same source time as an idempotent replay, and an older time as stale', async () => {
    const input = { ...usageInput, customerId: 'cust_00032', sourceUpdatedAt: '2026-11-01T10:00:00.000Z' };
    const first = await gql<{ recordFeatureUsage: { id: string; usageCount: number } }>(
      hub.url,
      RECORD,
      { input },
      acme,
    );
    expect(first.errors).toBeUndefined();
    const again = await gql<{ recordFeatureUsage: { id: string } }>(hub.url, RECORD, { input }, acme);
    expect(again.errors).toBeUndefined();
    expect(again.data?.recordFeatureUsage.id).toBe(first.data?.recordFeatureUsage.id);
    const older = await gql<{ recordFeatureUsage: { usageCount: number } }>(
      hub.url,
      RECORD,
      { input: { ...input, usageCount: 1, sourceUpdatedAt: '2026-10-01T10:00:00.000Z' } },
      acme,
    );
    // The stored figures are newer: the write is recorded as a conflict and the row answers unchanged.
    expect(older.data?.recordFeatureUsage.usageCount).toBe(45);
    const unknown = await gql(hub.url, RECORD, { input: { ...input, customerId: 'cust_99998' } }, acme);
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});
