import type { SyncKind } from '@hub/core/sync/types';
import { rejection, sqlOf, syncBatch } from '@hub/core/sync/testing';
import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import type { MarketingDataSyncInput } from '../src/generated/resolvers-types.js';
import { subgraph } from '../src/server.js';
import { mapJourneyMove, sync, type MarketingFacts } from '../src/sync.js';

/** The brief's marketing_data_sync example, keys camelCased as the import converts them. */
const BRIEF: MarketingDataSyncInput = {
  customerJourneySync: {
    customerId: 'cust_12345',
    currentStage: 'adoption',
    stageHistory: [
      {
        stage: 'onboarding',
        entryDate: '2025-09-15',
        exitDate: '2025-10-01',
        successMetrics: { completionRate: 1.0, timeToValue: '7_days', satisfactionScore: 4.5 },
      },
      {
        stage: 'adoption',
        entryDate: '2025-10-01',
        current: true,
        progressIndicators: { featureAdoption: 0.75, engagementScore: 8.2, successMilestones: 3 },
      },
    ],
    nextStagePrediction: { targetStage: 'advocacy', predictedDate: '2026-01-15', readinessScore: 0.68 },
  },
  campaignEffectiveness: {
    recentCampaigns: [
      {
        campaignId: 'camp_retention_q4',
        campaignType: 'retention',
        targetSegment: 'at_risk_customers',
        performance: { openRate: 0.45, clickRate: 0.23, conversionRate: 0.15, retentionImpact: 0.18 },
      },
    ],
    attributionAnalysis: { campaignContribution: 0.12, crossChannelImpact: 0.08, successCorrelation: 0.75 },
  },
  syncTimestamp: new Date('2025-12-05T08:21:00Z'),
};

const kind = (name: string) => {
  const found = sync.kinds.find((k) => k.name === name) as SyncKind<unknown> | undefined;
  if (!found) throw new Error(`no kind ${name}`);
  return found;
};
const marketingData = kind('marketing_data_sync');
const day = (text: string) => new Date(`${text}T00:00:00.000Z`);

/** A deep copy of the brief's example with one change. */
function briefWith(change: (payload: MarketingDataSyncInput) => void): MarketingDataSyncInput {
  const copy = structuredClone(BRIEF);
  change(copy);
  return copy;
}

describe('marketing sync declaration: mapping', () => {
  it('maps the brief’s example to its stays, journey, campaign, performance and attribution rows', () => {
    expect(marketingData.sourceTime(BRIEF)).toEqual(new Date('2025-12-05T08:21:00Z'));
    expect(marketingData.map(BRIEF)).toEqual([
      {
        model: 'JourneyStageEntry',
        key: { customerId: 'cust_12345', stage: 'ONBOARDING', entryDate: day('2025-09-15') },
        fields: {
          exitDate: day('2025-10-01'),
          current: false,
          completionRate: 1,
          timeToValueDays: 7,
          satisfactionScore: 4.5,
        },
      },
      {
        model: 'JourneyStageEntry',
        key: { customerId: 'cust_12345', stage: 'ADOPTION', entryDate: day('2025-10-01') },
        fields: { exitDate: null, current: true, featureAdoption: 0.75, engagementScore: 8.2, successMilestones: 3 },
      },
      {
        model: 'CustomerJourney',
        key: { customerId: 'cust_12345' },
        fields: {
          currentStage: 'ADOPTION',
          stageSince: day('2025-10-01'),
          targetStage: 'ADVOCACY',
          predictedDate: day('2026-01-15'),
          readinessScore: 0.68,
        },
      },
      {
        model: 'Campaign',
        key: { id: 'camp_retention_q4' },
        fields: { campaignType: 'RETENTION', targetSegment: 'at_risk_customers' },
      },
      {
        model: 'CampaignPerformance',
        key: { campaignId: 'camp_retention_q4', customerId: 'cust_12345' },
        fields: { openRate: 0.45, clickRate: 0.23, conversionRate: 0.15, retentionImpact: 0.18 },
      },
      {
        model: 'AttributionAnalysis',
        key: { customerId: 'cust_12345' },
        fields: { campaignContribution: 0.12, crossChannelImpact: 0.08, successCorrelation: 0.75 },
      },
    ]);
  });

  it('reads a replayed dead letter (JSON: timestamps as text) the same way', () => {
    const replayed = JSON.parse(JSON.stringify(BRIEF)) as MarketingDataSyncInput;
    expect(marketingData.map(replayed)).toEqual(marketingData.map(BRIEF));
    expect(marketingData.sourceTime(replayed)).toEqual(marketingData.sourceTime(BRIEF));
  });

  it('a journey-only payload writes no campaign rows and keeps the stored prediction (no prediction fields)', () => {
    const rows = marketingData.map(
      briefWith((p) => {
        delete p.campaignEffectiveness;
        delete p.customerJourneySync?.nextStagePrediction;
      }),
    );
    expect(rows.map((r) => r.model)).toEqual(['JourneyStageEntry', 'JourneyStageEntry', 'CustomerJourney']);
    expect(rows.at(-1)?.fields).toEqual({ currentStage: 'ADOPTION', stageSince: day('2025-10-01') });
  });

  it('without a `current` flag the open stay of currentStage is the current one', () => {
    const rows = marketingData.map(
      briefWith((p) => {
        delete p.customerJourneySync?.stageHistory?.[1]?.current;
      }),
    );
    expect(rows.filter((r) => r.model === 'JourneyStageEntry').map((r) => r.fields['current'])).toEqual([false, true]);
  });

  it('rejects malformed payloads naming the full payload path', () => {
    const cases: [string, (p: MarketingDataSyncInput) => void][] = [
      ['customerJourneySync', (p) => delete p.customerJourneySync],
      ['customerJourneySync.customerId', (p) => delete p.customerJourneySync?.customerId],
      ['customerJourneySync.customerId', (p) => p.customerJourneySync && (p.customerJourneySync.customerId = 'acme-1')],
      [
        'customerJourneySync.currentStage',
        (p) => p.customerJourneySync && (p.customerJourneySync.currentStage = 'happy'),
      ],
      ['customerJourneySync.stageHistory', (p) => delete p.customerJourneySync?.stageHistory],
      [
        'customerJourneySync.stageHistory.0.entryDate',
        (p) => delete p.customerJourneySync?.stageHistory?.[0]?.entryDate,
      ],
      [
        'customerJourneySync.stageHistory.0.exitDate',
        (p) =>
          p.customerJourneySync?.stageHistory?.[0] && (p.customerJourneySync.stageHistory[0].exitDate = '2025-09-01'),
      ],
      [
        'customerJourneySync.stageHistory.0.successMetrics.timeToValue',
        (p) =>
          p.customerJourneySync?.stageHistory?.[0]?.successMetrics &&
          (p.customerJourneySync.stageHistory[0].successMetrics.timeToValue = 'a week'),
      ],
      [
        'customerJourneySync.stageHistory.0.successMetrics.satisfactionScore',
        (p) =>
          p.customerJourneySync?.stageHistory?.[0]?.successMetrics &&
          (p.customerJourneySync.stageHistory[0].successMetrics.satisfactionScore = 6),
      ],
      [
        'customerJourneySync.stageHistory.1.progressIndicators.engagementScore',
        (p) =>
          p.customerJourneySync?.stageHistory?.[1]?.progressIndicators &&
          (p.customerJourneySync.stageHistory[1].progressIndicators.engagementScore = 11),
      ],
      [
        'customerJourneySync.stageHistory.1.stage',
        (p) => p.customerJourneySync && (p.customerJourneySync.currentStage = 'onboarding'),
      ],
      [
        'customerJourneySync.stageHistory.1.current',
        (p) => p.customerJourneySync?.stageHistory?.[0] && (p.customerJourneySync.stageHistory[0].current = true),
      ],
      [
        'customerJourneySync.stageHistory',
        (p) =>
          p.customerJourneySync?.stageHistory?.[1] &&
          Object.assign(p.customerJourneySync.stageHistory[1], { current: false, exitDate: '2025-11-01' }),
      ],
      [
        'customerJourneySync.stageHistory.1',
        (p) =>
          p.customerJourneySync?.stageHistory?.[1] &&
          (p.customerJourneySync.stageHistory[1] = {
            ...p.customerJourneySync.stageHistory[0],
            current: true,
            exitDate: null,
          }),
      ],
      [
        'customerJourneySync.nextStagePrediction.predictedDate',
        (p) =>
          p.customerJourneySync?.nextStagePrediction &&
          (p.customerJourneySync.nextStagePrediction.predictedDate = '2025-09-30'),
      ],
      [
        'customerJourneySync.nextStagePrediction.readinessScore',
        (p) =>
          p.customerJourneySync?.nextStagePrediction &&
          (p.customerJourneySync.nextStagePrediction.readinessScore = 1.5),
      ],
      [
        'campaignEffectiveness.recentCampaigns.0.campaignId',
        (p) => delete p.campaignEffectiveness?.recentCampaigns?.[0]?.campaignId,
      ],
      [
        'campaignEffectiveness.recentCampaigns.0.campaignType',
        (p) =>
          p.campaignEffectiveness?.recentCampaigns?.[0] &&
          (p.campaignEffectiveness.recentCampaigns[0].campaignType = 'spam'),
      ],
      [
        'campaignEffectiveness.recentCampaigns.0.targetSegment',
        (p) =>
          p.campaignEffectiveness?.recentCampaigns?.[0] &&
          (p.campaignEffectiveness.recentCampaigns[0].targetSegment = 'At Risk'),
      ],
      [
        'campaignEffectiveness.recentCampaigns.0.performance.clickRate',
        (p) => delete p.campaignEffectiveness?.recentCampaigns?.[0]?.performance?.clickRate,
      ],
      [
        'campaignEffectiveness.recentCampaigns.0.performance.openRate',
        (p) =>
          p.campaignEffectiveness?.recentCampaigns?.[0]?.performance &&
          (p.campaignEffectiveness.recentCampaigns[0].performance.openRate = -0.1),
      ],
      [
        'campaignEffectiveness.recentCampaigns.1.campaignId',
        (p) => p.campaignEffectiveness?.recentCampaigns?.push({ ...p.campaignEffectiveness.recentCampaigns[0] }),
      ],
      [
        'campaignEffectiveness.attributionAnalysis.successCorrelation',
        (p) =>
          p.campaignEffectiveness?.attributionAnalysis &&
          (p.campaignEffectiveness.attributionAnalysis.successCorrelation = -2),
      ],
      [
        'campaignEffectiveness.attributionAnalysis.crossChannelImpact',
        (p) => delete p.campaignEffectiveness?.attributionAnalysis?.crossChannelImpact,
      ],
    ];
    for (const [field, change] of cases) {
      expect(
        rejection(() => marketingData.map(briefWith(change)), field),
        field,
      ).toEqual({ field, code: 'BAD_USER_INPUT' });
    }
    expect(rejection(() => marketingData.sourceTime(briefWith((p) => delete p.syncTimestamp)))).toEqual({
      field: 'syncTimestamp',
      code: 'BAD_USER_INPUT',
    });
  });
});

describe('marketing sync declaration: models, owners and quality rules', () => {
  it('declares a natural key per model and no field owners', () => {
    expect(Object.fromEntries(Object.entries(sync.models).map(([model, m]) => [model, m.key]))).toEqual({
      Campaign: ['id'],
      CampaignPerformance: ['campaignId', 'customerId'],
      JourneyStageEntry: ['customerId', 'stage', 'entryDate'],
      CustomerJourney: ['customerId'],
      AttributionAnalysis: ['customerId'],
      // The health consumer's rows (src/healthTriggers.ts), one per customer.
      HealthCampaignTrigger: ['customerId'],
    });
    // No owners: the latest source time decides every marketing field (see src/sync.ts).
    for (const model of Object.values(sync.models)) expect(model.owners).toBeUndefined();
    // Every row a kind maps to is of a declared model, and every key column is the declared one.
    for (const row of marketingData.map(BRIEF)) expect(Object.keys(row.key)).toEqual(sync.models[row.model]?.key);
  });

  it('offers only marketing_data_sync to the sync API; every mutation has its own mutation-only kind', () => {
    expect(sync.kinds.filter((k) => !k.mutationOnly).map((k) => k.name)).toEqual(['marketing_data_sync']);
    expect(sync.kinds.filter((k) => k.mutationOnly).map((k) => [k.name, k.mode ?? 'upsert'])).toEqual([
      ['create_campaign', 'insert'],
      ['update_campaign', 'update'],
      ['record_campaign_performance', 'upsert'],
      ['record_journey_stage', 'upsert'],
      ['health_campaign_trigger', 'upsert'],
    ]);
  });

  it('soft validity checks pass on the brief’s example and fail on implausible figures', () => {
    const validity = (p: MarketingDataSyncInput) => marketingData.quality.validity?.(p) ?? [];
    expect(validity(BRIEF).every((c) => c.ok)).toBe(true);
    expect(validity(BRIEF).length).toBeGreaterThanOrEqual(4);
    const failed = (p: MarketingDataSyncInput) =>
      validity(p)
        .filter((c) => !c.ok)
        .map((c) => c.field);
    expect(
      failed(
        briefWith((p) => {
          const figures = p.campaignEffectiveness?.recentCampaigns?.[0]?.performance;
          if (figures) figures.clickRate = 0.5; // more clicks than opens
        }),
      ),
    ).toEqual(['campaignEffectiveness.recentCampaigns.0.performance.clickRate']);
    expect(
      failed(
        briefWith((p) => {
          const adoption = p.customerJourneySync?.stageHistory?.[1];
          if (adoption) adoption.entryDate = '2025-09-20'; // starts before onboarding ended
        }),
      ),
    ).toEqual(['customerJourneySync.stageHistory.1.entryDate']);
    expect(
      failed(
        briefWith((p) => {
          const prediction = p.customerJourneySync?.nextStagePrediction;
          if (prediction) prediction.predictedDate = '2025-11-01'; // a prediction already behind the snapshot
        }),
      ),
    ).toEqual(['customerJourneySync.nextStagePrediction.predictedDate']);
  });

  it('counts the prediction and the campaign effectiveness as optional, the journey core as required', () => {
    expect(marketingData.quality.required).toEqual([
      'customerJourneySync.customerId',
      'customerJourneySync.currentStage',
      'customerJourneySync.stageHistory',
      'syncTimestamp',
    ]);
    expect(marketingData.quality.optional).toContain('campaignEffectiveness.attributionAnalysis');
  });
});

const hub = useTestSubgraph(subgraph);

describe('marketing sync declaration: consistency facts from the store', () => {
  it('loads the stored current stays and campaign types of a whole batch in one query', async () => {
    const db = sqlOf(hub.store.client);
    const [stored] = await db.query<{ customerId: string; stage: string; entryDate: string }>(
      `SELECT "customerId", "stage"::text AS stage, to_char("entryDate", 'YYYY-MM-DD') AS "entryDate"
         FROM "JourneyStageEntry" WHERE "tenantId" = 'acme' AND "current" ORDER BY "customerId" LIMIT 1`,
    );
    const [campaign] = await db.query<{ id: string; campaignType: string }>(
      `SELECT "id", "campaignType"::text AS "campaignType" FROM "Campaign" WHERE "tenantId" = 'acme' ORDER BY "id" LIMIT 1`,
    );
    if (!stored || !campaign) throw new Error('the demo data has no journeys or campaigns');
    const agreeing = briefWith((p) => {
      if (!p.customerJourneySync?.stageHistory) return;
      p.customerJourneySync.customerId = stored.customerId;
      p.customerJourneySync.currentStage = stored.stage;
      p.customerJourneySync.stageHistory = [{ stage: stored.stage, entryDate: stored.entryDate, current: true }];
      const first = p.campaignEffectiveness?.recentCampaigns?.[0];
      if (first) Object.assign(first, { campaignId: campaign.id, campaignType: campaign.campaignType.toLowerCase() });
    });
    const skipping = briefWith((p) => {
      if (p.customerJourneySync) p.customerJourneySync.customerId = stored.customerId;
      const first = p.campaignEffectiveness?.recentCampaigns?.[0];
      const other = campaign.campaignType === 'WINBACK' ? 'retention' : 'winback';
      if (first) Object.assign(first, { campaignId: campaign.id, campaignType: other });
    });
    const unknown = briefWith((p) => p.customerJourneySync && (p.customerJourneySync.customerId = 'cust_99999'));

    const statements: string[] = [];
    const counting = sqlOf(hub.store.client, statements);
    const facts = (await marketingData.quality.loadFacts?.(counting, 'acme', [
      agreeing,
      skipping,
      unknown,
    ])) as MarketingFacts;
    expect(statements).toHaveLength(1);
    expect(facts.currentStay.get(stored.customerId)).toBe(`${stored.stage}@${stored.entryDate}`);
    expect(facts.campaignType.get(campaign.id)).toBe(campaign.campaignType);

    const consistency = (p: MarketingDataSyncInput) => marketingData.quality.consistency?.(p, facts) ?? [];
    expect(consistency(agreeing)).toEqual([
      { field: 'customerJourneySync.stageHistory', ok: true },
      { field: 'campaignEffectiveness.recentCampaigns.0.campaignType', ok: true },
    ]);
    // The brief's history skips the stored current stay, and names the stored campaign with another type.
    expect(consistency(skipping)).toEqual([
      { field: 'customerJourneySync.stageHistory', ok: false },
      { field: 'campaignEffectiveness.recentCampaigns.0.campaignType', ok: false },
    ]);
    // Nothing stored for the customer: no stay to disagree with; the brief's campaign is seeded as retention.
    expect(consistency(unknown)).toEqual([{ field: 'campaignEffectiveness.recentCampaigns.0.campaignType', ok: true }]);
  });

  it('facts are per tenant: globex sees none of acme’s stays or campaigns', async () => {
    const db = sqlOf(hub.store.client);
    const [stored] = await db.query<{ customerId: string }>(
      `SELECT "customerId" FROM "JourneyStageEntry" WHERE "tenantId" = 'acme' AND "current" LIMIT 1`,
    );
    const payload = briefWith((p) => p.customerJourneySync && (p.customerJourneySync.customerId = stored?.customerId));
    const facts = (await marketingData.quality.loadFacts?.(db, 'globex', [payload])) as MarketingFacts;
    expect(facts.currentStay.size).toBe(0);
  });
});

describe('marketing sync declaration: the journey-move mutation kind', () => {
  const input = { customerId: 'cust_00003', stage: 'EXPANSION' as const, entryDate: '2025-12-10' };

  it('closes the open stay, opens the new one and points the journey at it', () => {
    expect(mapJourneyMove({ input, open: { stage: 'ADOPTION', entryDate: '2025-10-01' } })).toEqual([
      {
        model: 'JourneyStageEntry',
        key: { customerId: 'cust_00003', stage: 'ADOPTION', entryDate: day('2025-10-01') },
        fields: { current: false, exitDate: day('2025-12-10') },
      },
      {
        model: 'JourneyStageEntry',
        key: { customerId: 'cust_00003', stage: 'EXPANSION', entryDate: day('2025-12-10') },
        fields: { current: true, exitDate: null },
      },
      {
        model: 'CustomerJourney',
        key: { customerId: 'cust_00003' },
        fields: {
          currentStage: 'EXPANSION',
          stageSince: day('2025-12-10'),
          targetStage: null,
          predictedDate: null,
          readinessScore: null,
        },
      },
    ]);
  });

  it('a move to the open stage refreshes that stay; a move dated before it is refused', () => {
    const rows = mapJourneyMove({
      input: { ...input, progressIndicators: { featureAdoption: 0.8 } },
      open: { stage: 'EXPANSION', entryDate: '2025-11-01' },
    });
    expect(rows[0]).toEqual({
      model: 'JourneyStageEntry',
      key: { customerId: 'cust_00003', stage: 'EXPANSION', entryDate: day('2025-11-01') },
      fields: { featureAdoption: 0.8 },
    });
    expect(rows[1]?.fields['stageSince']).toEqual(day('2025-11-01'));
    expect(rejection(() => mapJourneyMove({ input, open: { stage: 'ADOPTION', entryDate: '2026-01-01' } }))).toEqual({
      field: 'input.entryDate',
      code: 'BAD_USER_INPUT',
    });
  });
});

const JOURNEY = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Customer {
        journey {
          currentStage
          stageSince
          stageHistory {
            stage
            entryDate
            current
          }
        }
        campaigns {
          edges {
            node {
              campaign {
                id
                name
                campaignType
              }
              openRate
            }
          }
        }
        attribution {
          campaignContribution
        }
      }
    }
  }
`;
const syncMarketing = async (events: Record<string, unknown>[]) =>
  (await syncBatch(hub.url, 'marketing', events, acme)).results;

describe('marketing sync API: the brief’s payload through the pipeline', () => {
  it('applies the brief’s payload for a new customer once, creating the campaign; again it is a DUPLICATE', async () => {
    const customerId = await hub.createCustomer(acme, 'Journey Sync Ltd');
    const at = new Date(Date.now() - 60_000);
    const payload = briefWith((p) => {
      if (p.customerJourneySync) p.customerJourneySync.customerId = customerId;
      const first = p.campaignEffectiveness?.recentCampaigns?.[0];
      if (first) first.campaignId = 'camp_synced_new';
      if (p.customerJourneySync?.nextStagePrediction)
        p.customerJourneySync.nextStagePrediction.predictedDate = '2030-01-15';
      p.syncTimestamp = at;
    });
    const [applied, duplicate, rejected] = await syncMarketing([
      { source: 'marketing_automation', marketingDataSync: payload },
      { source: 'marketing_automation', marketingDataSync: payload },
      { marketingDataSync: briefWith((p) => p.customerJourneySync && (p.customerJourneySync.currentStage = 'happy')) },
    ]);
    expect(applied).toMatchObject({ outcome: 'APPLIED', quality: { completeness: 1, validity: 1, consistency: 1 } });
    expect(duplicate).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    expect(rejected).toMatchObject({
      outcome: 'REJECTED',
      code: 'BAD_USER_INPUT',
      field: 'customerJourneySync.currentStage',
    });
    const read = await gql(hub.url, JOURNEY, { r: [{ __typename: 'Customer', id: customerId }] }, acme);
    expect(read.data).toEqual({
      _entities: [
        {
          journey: {
            currentStage: 'ADOPTION',
            stageSince: '2025-10-01',
            stageHistory: [
              { stage: 'ONBOARDING', entryDate: '2025-09-15', current: false },
              { stage: 'ADOPTION', entryDate: '2025-10-01', current: true },
            ],
          },
          // The payload names no campaign name: the new campaign shows its id.
          campaigns: {
            edges: [
              {
                node: {
                  campaign: { id: 'camp_synced_new', name: 'camp_synced_new', campaignType: 'RETENTION' },
                  openRate: 0.45,
                },
              },
            ],
          },
          attribution: { campaignContribution: 0.12 },
        },
      ],
    });
  });

  it('scores a sparse payload lower and a history that skips the stored current stay as inconsistent', async () => {
    const db = sqlOf(hub.store.client);
    const [stored] = await db.query<{ customerId: string }>(
      `SELECT "customerId" FROM "JourneyStageEntry" WHERE "tenantId" = 'acme' AND "current" AND "stage" <> 'ONBOARDING' ORDER BY "customerId" DESC LIMIT 1`,
    );
    const sparse = {
      customerJourneySync: {
        customerId: stored?.customerId,
        currentStage: 'onboarding',
        stageHistory: [{ stage: 'onboarding', entryDate: '2026-11-01', current: true }],
      },
      syncTimestamp: new Date(Date.now() - 60_000),
    };
    const [result] = await syncMarketing([{ marketingDataSync: sparse }]);
    // Required present (0.6), none of the 5 optional paths.
    expect(result).toMatchObject({ outcome: 'APPLIED', quality: { completeness: 0.6, validity: 1, consistency: 0 } });
  });
});
