/**
 * The health event as every domain reads it (issue 8): `health.customer_health_sync`, whose
 * `payload.data` is the brief's `customer_health_sync` camelCased (the GraphQL input shape, with
 * `_30DayChange` for `30_day_change`). Here once, because health writes it and marketing and sales
 * consume it: the overall-score rule, a typed reading, and the brief's own JSON back (`briefHealthJson`).
 */
import { snakeKeys } from '../sync/keys.js';
import type { EventEnvelope, SyncEventPayload } from './types.js';

export const HEALTH_EVENT_TYPE = 'health.customer_health_sync';

/** The hub's overall health of a customer from its component metrics, 0–100 (payment standing is its own dimension). */
export function healthScoreOf(usage: number, engagement: number, supportSatisfaction: number): number {
  return Math.round(0.4 * usage + 0.3 * engagement + 0.3 * supportSatisfaction);
}

/** A health event's figures, typed, with the overall score. */
export interface HealthEvent {
  readonly customerId: string;
  readonly score: number;
  readonly usageScore: number;
  readonly engagementScore: number;
  readonly supportSatisfaction: number;
  /** Lower case, as the brief writes it (`current`). */
  readonly paymentStatus: string;
  readonly thirtyDayChange: number;
  readonly riskIndicators: readonly string[];
  readonly improvementAreas: readonly string[];
  readonly campaignTriggers: readonly string[];
  readonly segment: string | null;
  readonly expansionOpportunities: readonly string[];
  readonly renewalConfidence: number | null;
  readonly featureAdoptionFocus: readonly string[];
  readonly syncTimestamp: Date;
  readonly dataQualityScore: number | null;
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value !== null && typeof value === 'object' ? (value as Json) : {});
const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Reads a health event; throws on another type or a payload without its metrics (never retried usefully). */
export function healthEventOf(envelope: EventEnvelope): HealthEvent {
  if (envelope.type !== HEALTH_EVENT_TYPE) throw new Error(`not a health event: ${envelope.type}`);
  const data = obj((envelope.payload as unknown as SyncEventPayload).data);
  const metrics = obj(data['healthMetrics']);
  const trend = obj(data['trendAnalysis']);
  const impacts = obj(data['domainImpacts']);
  const [usage, engagement, support] = ['usageScore', 'engagementScore', 'supportSatisfaction'].map((k) =>
    num(metrics[k]),
  );
  if (usage == null || engagement == null || support == null || typeof data['customerId'] !== 'string')
    throw new Error(`health event ${envelope.id} carries no metrics`);
  const at = new Date(String(data['syncTimestamp'] ?? envelope.occurredAt));
  return {
    customerId: data['customerId'],
    score: healthScoreOf(usage, engagement, support),
    usageScore: usage,
    engagementScore: engagement,
    supportSatisfaction: support,
    paymentStatus: String(metrics['paymentStatus'] ?? 'current').toLowerCase(),
    thirtyDayChange: Number(trend['_30DayChange'] ?? 0) || 0,
    riskIndicators: list(trend['riskIndicators']),
    improvementAreas: list(trend['improvementAreas']),
    campaignTriggers: list(obj(impacts['marketing'])['campaignTriggers']),
    segment:
      typeof obj(impacts['marketing'])['segment'] === 'string'
        ? (obj(impacts['marketing'])['segment'] as string)
        : null,
    expansionOpportunities: list(obj(impacts['sales'])['expansionOpportunities']),
    renewalConfidence: num(obj(impacts['sales'])['renewalConfidence']),
    featureAdoptionFocus: list(obj(impacts['product'])['featureAdoptionFocus']),
    syncTimestamp: Number.isNaN(at.getTime()) ? new Date(envelope.occurredAt) : at,
    dataQualityScore: num(data['dataQualityScore']),
  };
}

/**
 * `{ "customer_health_sync": { "customer_id": …, "health_metrics": {…}, … } }` of a health event:
 * the camelCase data with the NDJSON import's key mapping inverted, so the brief's JSON comes back 1:1.
 */
export function briefHealthJson(envelope: EventEnvelope): { customer_health_sync: Record<string, unknown> } {
  if (envelope.type !== HEALTH_EVENT_TYPE) throw new Error(`not a health event: ${envelope.type}`);
  const json = snakeKeys((envelope.payload as unknown as SyncEventPayload).data) as Record<string, unknown>;
  // The brief writes times to the second (`2025-12-05T08:21:00Z`); the engine keeps them to the ms.
  const at = json['sync_timestamp'];
  if (typeof at === 'string') json['sync_timestamp'] = new Date(at).toISOString().replace(/\.000Z$/, 'Z');
  return { customer_health_sync: json };
}
