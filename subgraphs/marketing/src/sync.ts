/**
 * Marketing's sync declaration (issue 7): the brief's `marketing_data_sync` payload, and one
 * mutation-only kind per marketing mutation so that every marketing write goes through the one
 * engine (`ctx.sync.apply` / `applyOne`). The engine owns the SQL, idempotency, conflicts and
 * scoring; this file says how payloads become rows, who owns which field, and what quality means.
 */
import { healthCampaignTrigger } from './healthTriggers.js';
import { badUserInput } from '@hub/core/errors';
import { defineSync, type QualityCheck, type RowChange, type SqlExecutor, type SyncKind } from '@hub/core/sync/types';
import * as check from '@hub/core/validate';
import { instant, mutationSourceTime } from '@hub/core/sync/payload';
import { CampaignType, JourneyStage } from '@hub/store/marketing';
import type {
  CampaignEffectivenessInput,
  CreateCampaignInput,
  CustomerJourneySyncInput,
  JourneyStageSyncInput,
  MarketingDataSyncInput,
  RecordCampaignPerformanceInput,
  RecordJourneyStageInput,
  UpdateCampaignInput,
} from './generated/resolvers-types.js';
import { segment } from './validation.js';

const STAGES = Object.values(JourneyStage);
const CAMPAIGN_TYPES = Object.values(CampaignType);

const JOURNEY = 'customerJourneySync';
const CAMPAIGNS = 'campaignEffectiveness.recentCampaigns';

/** Fields the payload left out are not synced (the stored value stays); null is a value (clears). */
function given(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The brief writes durations as `7_days`. */
function days(field: string, value: string | null | undefined): number | null | undefined {
  if (value === null || value === undefined) return value;
  const match = /^(\d{1,5})_days?$/.exec(value.trim());
  if (!match) throw badUserInput(field, 'must be a number of days like 7_days');
  return Number(match[1]);
}

const rate = check.optional(check.unitInterval);
const inRange = check.optional(check.inRange);
const wholeNumber = check.optional(check.nonNegativeInt);

/** One stay of the payload's history, validated; `current` as the payload says it. */
function stay(entry: JourneyStageSyncInput, at: string) {
  const entryDate = check.calendarDay(`${at}.entryDate`, entry.entryDate);
  const exitDate =
    entry.exitDate === null || entry.exitDate === undefined
      ? null
      : check.calendarDay(`${at}.exitDate`, entry.exitDate);
  check.notBefore(`${at}.exitDate`, exitDate, entryDate, `${at}.entryDate`);
  const metrics = entry.successMetrics;
  const progress = entry.progressIndicators;
  return {
    stage: check.enumMember(`${at}.stage`, entry.stage, STAGES),
    entryDate,
    exitDate,
    current: entry.current === true,
    fields: given({
      completionRate: rate(`${at}.successMetrics.completionRate`, metrics?.completionRate),
      timeToValueDays: days(`${at}.successMetrics.timeToValue`, metrics?.timeToValue),
      satisfactionScore: inRange(`${at}.successMetrics.satisfactionScore`, metrics?.satisfactionScore, 1, 5),
      featureAdoption: rate(`${at}.progressIndicators.featureAdoption`, progress?.featureAdoption),
      engagementScore: inRange(`${at}.progressIndicators.engagementScore`, progress?.engagementScore, 0, 10),
      successMilestones: wholeNumber(`${at}.progressIndicators.successMilestones`, progress?.successMilestones),
    }),
  };
}

/**
 * The journey and its stays. The current stay is the entry marked `current`, else the open entry of
 * `currentStage`; it dates the journey (`stageSince`), so a history without it is refused.
 */
function journeyRows(journey: CustomerJourneySyncInput, customerId: string): RowChange[] {
  const currentStage = check.enumMember(`${JOURNEY}.currentStage`, journey.currentStage, STAGES);
  const history = check.required(`${JOURNEY}.stageHistory`, journey.stageHistory);
  const stays = history.map((entry, i) => stay(entry, `${JOURNEY}.stageHistory.${i}`));
  const seen = new Set<string>();
  stays.forEach((s, i) => {
    const key = `${s.stage}@${check.dayKey(s.entryDate)}`;
    if (seen.has(key)) throw badUserInput(`${JOURNEY}.stageHistory.${i}`, 'repeats a stay (same stage and entry date)');
    seen.add(key);
  });
  const marked = stays.flatMap((s, i) => (s.current ? [i] : []));
  if (marked.length > 1)
    throw badUserInput(`${JOURNEY}.stageHistory.${marked[1]}.current`, 'only one stay can be current');
  const currentIndex = marked[0] ?? stays.findLastIndex((s) => s.stage === currentStage && s.exitDate === null);
  const current = stays[currentIndex];
  if (!current) throw badUserInput(`${JOURNEY}.stageHistory`, 'must hold the current stage’s stay (current: true)');
  if (current.stage !== currentStage)
    throw badUserInput(`${JOURNEY}.stageHistory.${currentIndex}.stage`, 'must be currentStage on the current stay');
  if (current.exitDate)
    throw badUserInput(`${JOURNEY}.stageHistory.${currentIndex}.exitDate`, 'must be absent on the current stay');
  const prediction = journey.nextStagePrediction;
  const predictedDate =
    prediction?.predictedDate === null || prediction?.predictedDate === undefined
      ? null
      : check.calendarDay(`${JOURNEY}.nextStagePrediction.predictedDate`, prediction.predictedDate);
  check.notBefore(
    `${JOURNEY}.nextStagePrediction.predictedDate`,
    predictedDate,
    current.entryDate,
    'the current stay’s entryDate',
  );
  const rows: RowChange[] = stays.map((s, i) => ({
    model: 'JourneyStageEntry',
    key: { customerId, stage: s.stage, entryDate: s.entryDate },
    fields: { exitDate: s.exitDate, current: i === currentIndex, ...s.fields },
  }));
  rows.push({
    model: 'CustomerJourney',
    key: { customerId },
    fields: {
      currentStage,
      stageSince: current.entryDate,
      ...(prediction
        ? {
            targetStage: check.enumMember(`${JOURNEY}.nextStagePrediction.targetStage`, prediction.targetStage, STAGES),
            predictedDate,
            readinessScore: rate(`${JOURNEY}.nextStagePrediction.readinessScore`, prediction.readinessScore) ?? null,
          }
        : {}),
    },
  });
  return rows;
}

/** Campaigns come before their performance rows: the performance row's foreign key needs the campaign. */
function campaignRows(effectiveness: CampaignEffectivenessInput, customerId: string): RowChange[] {
  const campaigns: RowChange[] = [];
  const performance: RowChange[] = [];
  const seen = new Set<string>();
  (effectiveness.recentCampaigns ?? []).forEach((campaign, i) => {
    const at = `${CAMPAIGNS}.${i}`;
    const id = check.externalId(`${at}.campaignId`, check.required(`${at}.campaignId`, campaign.campaignId));
    if (seen.has(id)) throw badUserInput(`${at}.campaignId`, 'names a campaign already listed');
    seen.add(id);
    campaigns.push({
      model: 'Campaign',
      key: { id },
      fields: given({
        campaignType: check.enumMember(`${at}.campaignType`, campaign.campaignType, CAMPAIGN_TYPES),
        targetSegment: segment(`${at}.targetSegment`, campaign.targetSegment),
        name:
          campaign.name === null || campaign.name === undefined
            ? undefined
            : check.requiredText(`${at}.name`, campaign.name, 200),
      }),
    });
    const figures = campaign.performance;
    if (figures === null || figures === undefined) return;
    const figure = (name: keyof typeof figures) =>
      check.unitInterval(`${at}.performance.${name}`, check.required(`${at}.performance.${name}`, figures[name]));
    performance.push({
      model: 'CampaignPerformance',
      key: { campaignId: id, customerId },
      fields: {
        openRate: figure('openRate'),
        clickRate: figure('clickRate'),
        conversionRate: figure('conversionRate'),
        retentionImpact: figure('retentionImpact'),
      },
    });
  });
  const rows = [...campaigns, ...performance];
  const attribution = effectiveness.attributionAnalysis;
  if (attribution !== null && attribution !== undefined) {
    const at = 'campaignEffectiveness.attributionAnalysis';
    rows.push({
      model: 'AttributionAnalysis',
      key: { customerId },
      fields: {
        campaignContribution: check.unitInterval(
          `${at}.campaignContribution`,
          check.required(`${at}.campaignContribution`, attribution.campaignContribution),
        ),
        crossChannelImpact: check.unitInterval(
          `${at}.crossChannelImpact`,
          check.required(`${at}.crossChannelImpact`, attribution.crossChannelImpact),
        ),
        successCorrelation: check.inRange(
          `${at}.successCorrelation`,
          check.required(`${at}.successCorrelation`, attribution.successCorrelation),
          -1,
          1,
        ),
      },
    });
  }
  return rows;
}

export function mapMarketingData(payload: MarketingDataSyncInput): RowChange[] {
  const journey = check.required(JOURNEY, payload.customerJourneySync);
  const customerId = check.customerId(
    `${JOURNEY}.customerId`,
    check.required(`${JOURNEY}.customerId`, journey.customerId),
  );
  return [
    ...journeyRows(journey, customerId),
    ...(payload.campaignEffectiveness ? campaignRows(payload.campaignEffectiveness, customerId) : []),
  ];
}

/** What the store holds that a marketing payload should agree with (loaded once per batch). */
export interface MarketingFacts {
  /** Per customer: the stored current stay, `STAGE@YYYY-MM-DD`. */
  readonly currentStay: ReadonlyMap<string, string>;
  /** Per campaign id: the stored campaign type. */
  readonly campaignType: ReadonlyMap<string, string>;
}

async function loadMarketingFacts(
  db: SqlExecutor,
  tenantId: string,
  payloads: readonly MarketingDataSyncInput[],
): Promise<MarketingFacts> {
  const customers = payloads.flatMap((p) =>
    p.customerJourneySync?.customerId ? [p.customerJourneySync.customerId] : [],
  );
  const campaigns = payloads.flatMap((p) =>
    (p.campaignEffectiveness?.recentCampaigns ?? []).flatMap((c) => (c.campaignId ? [c.campaignId] : [])),
  );
  const rows = await db.query<{ kind: string; key: string; value: string }>(
    `SELECT 'stay' AS kind, "customerId" AS key, "stage"::text || '@' || to_char("entryDate", 'YYYY-MM-DD') AS value
       FROM "JourneyStageEntry" WHERE "tenantId" = $1 AND "current" AND "customerId" = ANY($2::text[])
     UNION ALL
     SELECT 'campaign', "id", "campaignType"::text FROM "Campaign" WHERE "tenantId" = $1 AND "id" = ANY($3::text[])`,
    tenantId,
    [...new Set(customers)],
    [...new Set(campaigns)],
  );
  const currentStay = new Map<string, string>();
  const campaignType = new Map<string, string>();
  for (const row of rows) (row.kind === 'stay' ? currentStay : campaignType).set(row.key, row.value);
  return { currentStay, campaignType };
}

/** Runs a check on a payload `map` accepted; a part it cannot read fails the check rather than throwing. */
function safely(field: string, test: () => boolean): QualityCheck {
  try {
    return { field, ok: test() };
  } catch {
    return { field, ok: false };
  }
}

function dayOrNull(value: string | Date | null | undefined): Date | null {
  return value === null || value === undefined ? null : check.calendarDay('date', value);
}

const marketingDataSync: SyncKind<MarketingDataSyncInput> = {
  name: 'marketing_data_sync',
  sourceTime: (payload) => instant('syncTimestamp', payload.syncTimestamp),
  map: mapMarketingData,
  quality: {
    required: [`${JOURNEY}.customerId`, `${JOURNEY}.currentStage`, `${JOURNEY}.stageHistory`, 'syncTimestamp'],
    optional: [
      `${JOURNEY}.nextStagePrediction.targetStage`,
      `${JOURNEY}.nextStagePrediction.predictedDate`,
      `${JOURNEY}.nextStagePrediction.readinessScore`,
      'campaignEffectiveness.recentCampaigns',
      'campaignEffectiveness.attributionAnalysis',
    ],
    /**
     * Plausibility beyond what `map` refuses: stays follow one another without overlap; success metrics
     * belong to completed stays and progress to the open one; a click needs an open; a prediction
     * lies ahead of the snapshot.
     */
    validity(payload) {
      const checks: QualityCheck[] = [];
      const history = payload.customerJourneySync?.stageHistory ?? [];
      history.forEach((entry, i) => {
        const at = `${JOURNEY}.stageHistory.${i}`;
        const previous = history[i - 1];
        if (previous) {
          checks.push(
            safely(`${at}.entryDate`, () => {
              const prevEnd = dayOrNull(previous.exitDate) ?? dayOrNull(previous.entryDate);
              const start = dayOrNull(entry.entryDate);
              return prevEnd !== null && start !== null && start >= prevEnd;
            }),
          );
        }
        const open = entry.current === true || !entry.exitDate;
        if (entry.successMetrics) checks.push({ field: `${at}.successMetrics`, ok: !open });
        if (entry.progressIndicators) checks.push({ field: `${at}.progressIndicators`, ok: open });
      });
      (payload.campaignEffectiveness?.recentCampaigns ?? []).forEach((campaign, i) => {
        const figures = campaign.performance;
        if (figures?.openRate != null && figures.clickRate != null) {
          checks.push({ field: `${CAMPAIGNS}.${i}.performance.clickRate`, ok: figures.clickRate <= figures.openRate });
        }
      });
      const predicted = payload.customerJourneySync?.nextStagePrediction?.predictedDate;
      if (predicted) {
        checks.push(
          safely(`${JOURNEY}.nextStagePrediction.predictedDate`, () => {
            const day = dayOrNull(predicted);
            return day !== null && day >= check.dayOf(instant('syncTimestamp', payload.syncTimestamp));
          }),
        );
      }
      return checks;
    },
    /**
     * Agreement with the store: the stay stored as current must be in the payload's history (else the
     * source skipped it and the store would hold two current stays), and a known campaign keeps its type.
     */
    consistency(payload, facts) {
      const { currentStay, campaignType } = facts as MarketingFacts;
      const checks: QualityCheck[] = [];
      const journey = payload.customerJourneySync;
      const stored = journey?.customerId ? currentStay.get(journey.customerId) : undefined;
      if (stored !== undefined) {
        const keys = (journey?.stageHistory ?? []).map(
          (entry) => `${String(entry.stage).toUpperCase()}@${String(entry.entryDate).slice(0, 10)}`,
        );
        checks.push({ field: `${JOURNEY}.stageHistory`, ok: keys.includes(stored) });
      }
      (payload.campaignEffectiveness?.recentCampaigns ?? []).forEach((campaign, i) => {
        const type = campaign.campaignId ? campaignType.get(campaign.campaignId) : undefined;
        if (type !== undefined) {
          checks.push({
            field: `${CAMPAIGNS}.${i}.campaignType`,
            ok: type === String(campaign.campaignType).toUpperCase(),
          });
        }
      });
      return checks;
    },
    loadFacts: (db, tenantId, payloads) => loadMarketingFacts(db, tenantId, payloads),
  },
};

// Mutation-only kinds: today's mutations, one event per call. Their payload is the mutation's
// arguments (`{ input }`, `{ id, input }`), so a rejection names the same path as before (`input.name`).

type WithoutKey<T> = Omit<T, 'idempotencyKey'>;

export interface CreateCampaignPayload {
  /** With the id chosen (the caller's, or one generated by the resolver). */
  readonly input: WithoutKey<CreateCampaignInput> & { readonly id: string };
}

const createCampaign: SyncKind<CreateCampaignPayload> = {
  name: 'create_campaign',
  mutationOnly: true,
  mode: 'insert',
  sourceTime: () => new Date(),
  map({ input }) {
    const startsAt = input.startsAt ?? null;
    const endsAt = input.endsAt ?? null;
    check.notBefore('input.endsAt', endsAt, startsAt, 'input.startsAt');
    return [
      {
        model: 'Campaign',
        key: { id: check.externalId('input.id', input.id) },
        fields: {
          name: check.requiredText('input.name', input.name, 200),
          campaignType: check.enumMember('input.campaignType', input.campaignType, CAMPAIGN_TYPES),
          targetSegment: segment('input.targetSegment', input.targetSegment),
          startsAt,
          endsAt,
        },
      },
    ];
  },
  quality: {
    required: ['input.id', 'input.name', 'input.campaignType', 'input.targetSegment'],
    optional: ['input.startsAt', 'input.endsAt'],
  },
};

export interface UpdateCampaignPayload {
  readonly id: string;
  readonly input: WithoutKey<UpdateCampaignInput>;
}

const updateCampaign: SyncKind<UpdateCampaignPayload> = {
  name: 'update_campaign',
  mutationOnly: true,
  mode: 'update',
  sourceTime: () => new Date(),
  map({ id, input }) {
    return [
      {
        model: 'Campaign',
        key: { id },
        fields: given({
          name: input.name === undefined ? undefined : check.requiredText('input.name', input.name, 200),
          campaignType: check.notNull('input.campaignType', input.campaignType),
          targetSegment:
            input.targetSegment === undefined ? undefined : segment('input.targetSegment', input.targetSegment),
          startsAt: input.startsAt,
          endsAt: input.endsAt,
        }),
      },
    ];
  },
  quality: { required: ['id'], optional: [] },
};

export interface RecordCampaignPerformancePayload {
  readonly input: WithoutKey<RecordCampaignPerformanceInput>;
}

export function mapCampaignPerformance({ input }: RecordCampaignPerformancePayload): RowChange[] {
  return [
    {
      model: 'CampaignPerformance',
      key: { campaignId: input.campaignId, customerId: check.externalId('input.customerId', input.customerId) },
      fields: {
        openRate: check.unitInterval('input.openRate', input.openRate),
        clickRate: check.unitInterval('input.clickRate', input.clickRate),
        conversionRate: check.unitInterval('input.conversionRate', input.conversionRate),
        retentionImpact: check.unitInterval('input.retentionImpact', input.retentionImpact),
      },
    },
  ];
}

const recordCampaignPerformance: SyncKind<RecordCampaignPerformancePayload> = {
  name: 'record_campaign_performance',
  mutationOnly: true,
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map: mapCampaignPerformance,
  quality: {
    required: [
      'input.campaignId',
      'input.customerId',
      'input.openRate',
      'input.clickRate',
      'input.conversionRate',
      'input.retentionImpact',
    ],
    optional: ['input.sourceUpdatedAt'],
    validity: ({ input }) => [{ field: 'input.clickRate', ok: input.clickRate <= input.openRate }],
  },
};

export type RecordJourneyStagePayload = {
  /** With `entryDate` filled in (today when the caller gave none), so a replay means the same move. */
  readonly input: WithoutKey<RecordJourneyStageInput> & { readonly entryDate: string };
  /** The stay that was current when the move was read (`YYYY-MM-DD`), or null for a first move. */
  readonly open: { readonly stage: string; readonly entryDate: string } | null;
};

/**
 * A move closes the open stay (its success metrics), opens the new one (its progress) and points the
 * journey at it; a move to the stage already open refreshes that stay's progress instead.
 */
export function mapJourneyMove({ input, open }: RecordJourneyStagePayload): RowChange[] {
  const customerId = check.externalId('input.customerId', input.customerId);
  const stage = check.enumMember('input.stage', input.stage, STAGES);
  const entryDate = check.calendarDay('input.entryDate', input.entryDate);
  const metrics = input.closedStageMetrics;
  const progress = input.progressIndicators;
  const prediction = input.nextStagePrediction;
  const closed = given({
    completionRate: rate('input.closedStageMetrics.completionRate', metrics?.completionRate),
    timeToValueDays: wholeNumber('input.closedStageMetrics.timeToValueDays', metrics?.timeToValueDays),
    satisfactionScore: inRange('input.closedStageMetrics.satisfactionScore', metrics?.satisfactionScore, 1, 5),
  });
  const opened = given({
    featureAdoption: rate('input.progressIndicators.featureAdoption', progress?.featureAdoption),
    engagementScore: inRange('input.progressIndicators.engagementScore', progress?.engagementScore, 0, 10),
    successMilestones: wholeNumber('input.progressIndicators.successMilestones', progress?.successMilestones),
  });
  const predictedDate = prediction?.predictedDate
    ? check.calendarDay('input.nextStagePrediction.predictedDate', prediction.predictedDate)
    : null;
  check.notBefore('input.nextStagePrediction.predictedDate', predictedDate, entryDate, 'input.entryDate');
  // The journey's prediction is replaced by the move's: none given clears it.
  const journey = {
    currentStage: stage,
    targetStage: prediction?.targetStage ?? null,
    predictedDate,
    readinessScore: rate('input.nextStagePrediction.readinessScore', prediction?.readinessScore) ?? null,
  };
  const openDate = open ? check.calendarDay('open.entryDate', open.entryDate) : null;
  if (open && openDate && entryDate < openDate) {
    throw badUserInput('input.entryDate', `must not be before the current stage's entry date ${open.entryDate}`);
  }
  if (open && openDate && open.stage === stage) {
    return [
      { model: 'JourneyStageEntry', key: { customerId, stage, entryDate: openDate }, fields: opened },
      { model: 'CustomerJourney', key: { customerId }, fields: { ...journey, stageSince: openDate } },
    ];
  }
  const rows: RowChange[] = [];
  if (open && openDate) {
    rows.push({
      model: 'JourneyStageEntry',
      key: { customerId, stage: open.stage, entryDate: openDate },
      fields: { current: false, exitDate: entryDate, ...closed },
    });
  }
  rows.push(
    {
      model: 'JourneyStageEntry',
      key: { customerId, stage, entryDate },
      fields: { current: true, exitDate: null, ...opened },
    },
    { model: 'CustomerJourney', key: { customerId }, fields: { ...journey, stageSince: entryDate } },
  );
  return rows;
}

const recordJourneyStage: SyncKind<RecordJourneyStagePayload> = {
  name: 'record_journey_stage',
  mutationOnly: true,
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map: mapJourneyMove,
  quality: {
    required: ['input.customerId', 'input.stage', 'input.entryDate'],
    optional: ['input.closedStageMetrics', 'input.progressIndicators', 'input.nextStagePrediction'],
  },
};

export const sync = defineSync({
  domain: 'marketing',
  kinds: [
    marketingDataSync,
    createCampaign,
    updateCampaign,
    recordCampaignPerformance,
    recordJourneyStage,
    healthCampaignTrigger,
  ] as readonly SyncKind<never>[],
  // In write order: a performance row's foreign key needs its campaign.
  models: {
    // No field has an owner: campaign definitions are edited both in the marketing automation
    // platform and in the hub (updateCampaign), and journeys and figures come from whichever tool
    // measured last, so the latest source time decides every marketing field.
    Campaign: { key: ['id'] },
    CampaignPerformance: { key: ['campaignId', 'customerId'] },
    // (stage, entryDate) names a stay: the brief's stage_history entries carry no id.
    JourneyStageEntry: { key: ['customerId', 'stage', 'entryDate'] },
    CustomerJourney: { key: ['customerId'] },
    AttributionAnalysis: { key: ['customerId'] },
    // Written by the health consumer alone (healthTriggers.ts); timed by the health's sync time.
    HealthCampaignTrigger: { key: ['customerId'] },
  },
});
