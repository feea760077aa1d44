/**
 * Sales' sync declaration (issue 7): the brief's `sales_pipeline_sync` payload, and one
 * mutation-only kind per sales mutation so that every sales write goes through the one engine
 * (`ctx.sync.apply` / `applyOne`). The engine owns the SQL, idempotency, conflicts and scoring; this
 * file says how payloads become rows, who owns which field, and what quality means.
 */
import { healthSignal } from './healthSignals.js';
import { badUserInput } from '@hub/core/errors';
import { defineSync, type QualityCheck, type RowChange, type SqlExecutor, type SyncKind } from '@hub/core/sync/types';
import * as check from '@hub/core/validate';
import { instant, mutationSourceTime } from '@hub/core/sync/payload';
import { OpportunityStage, OpportunityType } from '@hub/store/sales';
import type {
  CreateOpportunityInput,
  CsContributionInput,
  ExpansionOpportunitySyncInput,
  RenewalForecastSyncInput,
  SalesPipelineSyncInput,
  UpdateOpportunityInput,
  UpsertRenewalForecastInput,
} from './generated/resolvers-types.js';
import { nonNegativeMoney, probability, score, tags, timeline } from './validation.js';

const TYPES = Object.values(OpportunityType);
const STAGES = Object.values(OpportunityStage);
const CLOSED: readonly string[] = [OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST];

/**
 * Systems of record (source names as the demo data and integrations use them):
 * - `crm`: where a deal stands and who works it is decided in the CRM (a rep moves the stage, a
 *   manager assigns the owner); a customer-success push must not reopen a closed deal or reassign it.
 * - `health-engine`: the hub's health domain computes health scores; an opportunity's snapshot of it
 *   is the health engine's number, not a figure typed into another tool.
 * - `billing`: a contract's value is what the contract bills, held by billing (finance's source).
 */
export const CRM = 'crm';
export const HEALTH_ENGINE = 'health-engine';
export const BILLING = 'billing';

const OPPORTUNITIES = 'expansionOpportunities';
const RENEWAL = 'renewalForecast';

/** Fields the payload left out are not synced (the stored value stays); null is a value (clears). */
function given(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function csFields(at: string, cs: CsContributionInput | null | undefined) {
  if (cs === null || cs === undefined) return {};
  return given({
    csHealthScore: score(`${at}.healthScore`, cs.healthScore, 0, 100),
    csSuccessEvidence: tags(`${at}.successEvidence`, cs.successEvidence),
    csRiskMitigation: tags(`${at}.riskMitigation`, cs.riskMitigation),
  });
}

function opportunityRow(opportunity: ExpansionOpportunitySyncInput, at: string, customerId: string): RowChange {
  const id = check.externalId(`${at}.opportunityId`, check.required(`${at}.opportunityId`, opportunity.opportunityId));
  return {
    model: 'ExpansionOpportunity',
    key: { id },
    fields: given({
      customerId,
      type: check.enumMember(`${at}.type`, opportunity.type, TYPES),
      value: check.amount(`${at}.value`, check.required(`${at}.value`, opportunity.value)),
      probability: check.unitInterval(
        `${at}.probability`,
        check.required(`${at}.probability`, opportunity.probability),
      ),
      timeline: timeline(`${at}.timeline`, check.required(`${at}.timeline`, opportunity.timeline)),
      stage:
        opportunity.stage === null || opportunity.stage === undefined
          ? undefined
          : check.enumMember(`${at}.stage`, opportunity.stage, STAGES),
      ownerId:
        opportunity.ownerId === null || opportunity.ownerId === undefined
          ? undefined
          : check.externalId(`${at}.ownerId`, opportunity.ownerId),
      successFactors: tags(`${at}.successFactors`, opportunity.successFactors),
      ...csFields(`${at}.csContribution`, opportunity.csContribution),
    }),
  };
}

function renewalRow(forecast: RenewalForecastSyncInput, customerId: string): RowChange {
  const money = (name: 'contractValue' | 'expansionPotential') =>
    check.amount(`${RENEWAL}.${name}`, check.required(`${RENEWAL}.${name}`, forecast[name]));
  return {
    model: 'RenewalForecast',
    key: { customerId },
    fields: given({
      renewalProbability: check.unitInterval(
        `${RENEWAL}.renewalProbability`,
        check.required(`${RENEWAL}.renewalProbability`, forecast.renewalProbability),
      ),
      contractValue: money('contractValue'),
      expansionPotential: money('expansionPotential'),
      renewalDate:
        forecast.renewalDate === null || forecast.renewalDate === undefined
          ? undefined
          : check.calendarDay(`${RENEWAL}.renewalDate`, forecast.renewalDate),
      riskFactors: tags(`${RENEWAL}.riskFactors`, forecast.riskFactors),
      successMitigation: tags(`${RENEWAL}.successMitigation`, forecast.successMitigation),
      ownerId:
        forecast.ownerId === null || forecast.ownerId === undefined
          ? undefined
          : check.externalId(`${RENEWAL}.ownerId`, forecast.ownerId),
    }),
  };
}

export function mapSalesPipeline(payload: SalesPipelineSyncInput): RowChange[] {
  const customerId = check.customerId('customerId', check.required('customerId', payload.customerId));
  const seen = new Set<string>();
  const rows = (payload.expansionOpportunities ?? []).map((opportunity, i) => {
    const row = opportunityRow(opportunity, `${OPPORTUNITIES}.${i}`, customerId);
    const id = String(row.key['id']);
    if (seen.has(id)) throw badUserInput(`${OPPORTUNITIES}.${i}.opportunityId`, 'names an opportunity already listed');
    seen.add(id);
    return row;
  });
  if (payload.renewalForecast) rows.push(renewalRow(payload.renewalForecast, customerId));
  return rows;
}

/** Start of the quarter after `qN_YYYY`: the close date an open opportunity should not have passed. */
function quarterEnd(value: string): Date | null {
  const match = /^q([1-4])_(\d{4})$/.exec(value);
  if (!match) return null;
  return new Date(Date.UTC(Number(match[2]), Number(match[1]) * 3, 1));
}

/** What the store holds that a sales payload should agree with (loaded once per batch). */
export interface SalesFacts {
  /** Per stored opportunity id: its customer. */
  readonly opportunityCustomer: ReadonlyMap<string, string>;
}

async function loadSalesFacts(
  db: SqlExecutor,
  tenantId: string,
  payloads: readonly SalesPipelineSyncInput[],
): Promise<SalesFacts> {
  const ids = payloads.flatMap((p) =>
    (p.expansionOpportunities ?? []).flatMap((o) => (o.opportunityId ? [o.opportunityId] : [])),
  );
  const rows = await db.query<{ id: string; customerId: string }>(
    `SELECT "id", "customerId" FROM "ExpansionOpportunity" WHERE "tenantId" = $1 AND "id" = ANY($2::text[])`,
    tenantId,
    [...new Set(ids)],
  );
  return { opportunityCustomer: new Map(rows.map((row) => [row.id, row.customerId])) };
}

const salesPipelineSync: SyncKind<SalesPipelineSyncInput> = {
  name: 'sales_pipeline_sync',
  sourceTime: (payload) => instant('syncTimestamp', payload.syncTimestamp),
  map: mapSalesPipeline,
  quality: {
    required: ['customerId', 'syncTimestamp'],
    optional: [
      OPPORTUNITIES,
      RENEWAL,
      `${RENEWAL}.riskFactors`,
      `${RENEWAL}.successMitigation`,
      `${RENEWAL}.renewalDate`,
    ],
    /**
     * Plausibility beyond what `map` refuses: an open opportunity's close quarter has not passed at the
     * snapshot; a claimed `strong_health_score` comes with a health score of at least 70; an
     * opportunity carries customer-success evidence; a forecast's expansion potential does not exceed
     * the contract value (more than doubling at renewal is a typo more often than a deal).
     */
    validity(payload) {
      const checks: QualityCheck[] = [];
      const at = payload.syncTimestamp ? new Date(payload.syncTimestamp) : null;
      (payload.expansionOpportunities ?? []).forEach((opportunity, i) => {
        const path = `${OPPORTUNITIES}.${i}`;
        const open = !CLOSED.includes(String(opportunity.stage ?? '').toUpperCase());
        const end = opportunity.timeline ? quarterEnd(opportunity.timeline) : null;
        if (open && end && at) checks.push({ field: `${path}.timeline`, ok: end > at });
        if (opportunity.successFactors?.includes('strong_health_score')) {
          const health = opportunity.csContribution?.healthScore;
          checks.push({ field: `${path}.csContribution.healthScore`, ok: typeof health === 'number' && health >= 70 });
        }
        checks.push({ field: `${path}.csContribution`, ok: Boolean(opportunity.csContribution) });
      });
      const forecast = payload.renewalForecast;
      if (forecast?.contractValue != null && forecast.expansionPotential != null) {
        checks.push({
          field: `${RENEWAL}.expansionPotential`,
          ok: Number(forecast.expansionPotential) <= Number(forecast.contractValue),
        });
      }
      return checks;
    },
    /** Agreement with the store: a known opportunity id stays with the customer it belongs to. */
    consistency(payload, facts) {
      const { opportunityCustomer } = facts as SalesFacts;
      return (payload.expansionOpportunities ?? []).flatMap((opportunity, i) => {
        const stored = opportunity.opportunityId ? opportunityCustomer.get(opportunity.opportunityId) : undefined;
        return stored === undefined
          ? []
          : [{ field: `${OPPORTUNITIES}.${i}.opportunityId`, ok: stored === payload.customerId }];
      });
    },
    loadFacts: (db, tenantId, payloads) => loadSalesFacts(db, tenantId, payloads),
  },
};

// Mutation-only kinds: today's mutations, one event per call. Their payload is the mutation's
// arguments (`{ input }`, `{ id, input }`), so a rejection names the same path as before (`input.value`).

type WithoutKey<T> = Omit<T, 'idempotencyKey'>;

export interface CreateOpportunityPayload {
  /** With the id chosen (the caller's, or one generated by the resolver). */
  readonly input: WithoutKey<CreateOpportunityInput> & { readonly id: string };
}

const createOpportunity: SyncKind<CreateOpportunityPayload> = {
  name: 'create_opportunity',
  mutationOnly: true,
  mode: 'insert',
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input }) {
    const cs = csFields('input.csContribution', input.csContribution);
    return [
      {
        model: 'ExpansionOpportunity',
        key: { id: check.externalId('input.id', input.id) },
        fields: {
          customerId: check.externalId('input.customerId', input.customerId),
          ownerId: check.externalId('input.ownerId', input.ownerId),
          type: input.type,
          value: nonNegativeMoney('input.value', input.value),
          probability: probability('input.probability', input.probability),
          timeline: timeline('input.timeline', input.timeline),
          stage: input.stage ?? 'IDENTIFIED',
          successFactors: tags('input.successFactors', input.successFactors) ?? [],
          csHealthScore: null,
          csSuccessEvidence: [],
          csRiskMitigation: [],
          ...cs,
        },
      },
    ];
  },
  quality: {
    required: [
      'input.id',
      'input.customerId',
      'input.ownerId',
      'input.type',
      'input.value',
      'input.probability',
      'input.timeline',
    ],
    optional: ['input.stage', 'input.successFactors', 'input.csContribution'],
  },
};

export interface UpdateOpportunityPayload {
  readonly id: string;
  readonly input: WithoutKey<UpdateOpportunityInput>;
}

const updateOpportunity: SyncKind<UpdateOpportunityPayload> = {
  name: 'update_opportunity',
  mutationOnly: true,
  mode: 'update',
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ id, input }) {
    return [
      {
        model: 'ExpansionOpportunity',
        key: { id },
        fields: given({
          ownerId: check.change('input.ownerId', input.ownerId, check.externalId),
          type: check.notNull('input.type', input.type),
          value: nonNegativeMoney('input.value', check.notNull('input.value', input.value)),
          probability: probability('input.probability', check.notNull('input.probability', input.probability)),
          timeline: check.change('input.timeline', input.timeline, timeline),
          stage: check.notNull('input.stage', input.stage),
          successFactors: tags('input.successFactors', input.successFactors),
          ...csFields('input.csContribution', input.csContribution),
        }),
      },
    ];
  },
  quality: { required: ['id'], optional: [] },
};

export interface UpsertRenewalForecastPayload {
  readonly input: WithoutKey<UpsertRenewalForecastInput>;
}

/** Replaces the customer's forecast: omitted lists and owner are cleared, as the mutation always did. */
const upsertRenewalForecast: SyncKind<UpsertRenewalForecastPayload> = {
  name: 'upsert_renewal_forecast',
  mutationOnly: true,
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input }) {
    return [
      {
        model: 'RenewalForecast',
        key: { customerId: check.externalId('input.customerId', input.customerId) },
        fields: {
          renewalProbability: probability('input.renewalProbability', input.renewalProbability),
          contractValue: nonNegativeMoney('input.contractValue', input.contractValue),
          expansionPotential: nonNegativeMoney('input.expansionPotential', input.expansionPotential),
          renewalDate: check.calendarDay('input.renewalDate', input.renewalDate),
          riskFactors: tags('input.riskFactors', input.riskFactors) ?? [],
          successMitigation: tags('input.successMitigation', input.successMitigation) ?? [],
          ownerId: input.ownerId ? check.externalId('input.ownerId', input.ownerId) : null,
        },
      },
    ];
  },
  quality: {
    required: [
      'input.customerId',
      'input.renewalProbability',
      'input.contractValue',
      'input.expansionPotential',
      'input.renewalDate',
    ],
    optional: ['input.riskFactors', 'input.successMitigation', 'input.ownerId'],
  },
};

export const sync = defineSync({
  domain: 'sales',
  kinds: [
    salesPipelineSync,
    createOpportunity,
    updateOpportunity,
    upsertRenewalForecast,
    healthSignal,
  ] as readonly SyncKind<never>[],
  models: {
    ExpansionOpportunity: {
      key: ['id'],
      owners: { stage: [CRM], ownerId: [CRM], csHealthScore: [HEALTH_ENGINE] },
    },
    RenewalForecast: { key: ['customerId'], owners: { contractValue: [BILLING], ownerId: [CRM] } },
    // Written by the health consumer alone (healthSignals.ts); timed by the health's sync time.
    HealthSignal: { key: ['customerId'] },
  },
});
