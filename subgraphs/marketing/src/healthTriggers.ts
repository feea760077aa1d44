/**
 * Marketing's reaction to health (the brief's loop "risk assessment -> marketing triggers"): the
 * `health_campaign_trigger` kind keeps, per customer, the campaign triggers, segment and risk of the
 * latest computed health. Written only by the `marketing.health-triggers` consumer (consumers.ts),
 * source `health-engine`, timed by the health's own sync time: a late older health event is STALE.
 */
import { instant } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import type { HealthEvent } from '@hub/core/events/health';

export type HealthTriggerPayload = {
  readonly customerId: string;
  readonly healthScore: number;
  readonly segment: string | null;
  readonly campaignTriggers: readonly string[];
  readonly riskIndicators: readonly string[];
  readonly healthEventId: string;
  /** ISO time of the health computation (the source time). */
  readonly syncTimestamp: string;
};

/** The kind's payload for a health event. */
export function healthTriggerPayload(eventId: string, health: HealthEvent): HealthTriggerPayload {
  return {
    customerId: health.customerId,
    healthScore: health.score,
    segment: health.segment,
    campaignTriggers: [...health.campaignTriggers],
    riskIndicators: [...health.riskIndicators],
    healthEventId: eventId,
    syncTimestamp: health.syncTimestamp.toISOString(),
  };
}

export const healthCampaignTrigger: SyncKind<HealthTriggerPayload> = {
  name: 'health_campaign_trigger',
  mutationOnly: true,
  sourceTime: (p) => instant('syncTimestamp', p.syncTimestamp),
  map: (p) => [
    {
      model: 'HealthCampaignTrigger',
      key: { customerId: p.customerId },
      fields: {
        segment: p.segment,
        campaignTriggers: [...p.campaignTriggers],
        riskIndicators: [...p.riskIndicators],
        healthScore: p.healthScore,
        healthEventId: p.healthEventId,
      },
    },
  ],
  quality: { required: ['customerId', 'healthScore', 'syncTimestamp'], optional: ['segment', 'campaignTriggers'] },
};
