/**
 * Sales' reaction to health (the brief's "health -> sales signals"): the `health_signal` kind keeps,
 * per customer, the expansion plays and renewal confidence of the latest computed health, and sets
 * the health score (`csHealthScore`, owned by health-engine) of the customer's open opportunities.
 * Written only by the `sales.health-signals` consumer (consumers.ts), source `health-engine`, timed
 * by the health's own sync time: a late older health event is STALE.
 */
import { instant } from '@hub/core/sync/payload';
import type { RowChange, SyncKind } from '@hub/core/sync/types';
import type { HealthEvent } from '@hub/core/events/health';

export type HealthSignalPayload = {
  readonly customerId: string;
  readonly healthScore: number;
  readonly expansionOpportunities: readonly string[];
  readonly renewalConfidence: number | null;
  readonly riskIndicators: readonly string[];
  readonly healthEventId: string;
  /** The customer's opportunities not closed when the event was handled (read in the consumer's transaction). */
  readonly openOpportunityIds: readonly string[];
  /** ISO time of the health computation (the source time). */
  readonly syncTimestamp: string;
};

export function healthSignalPayload(
  eventId: string,
  health: HealthEvent,
  openOpportunityIds: readonly string[],
): HealthSignalPayload {
  return {
    customerId: health.customerId,
    healthScore: health.score,
    expansionOpportunities: [...health.expansionOpportunities],
    renewalConfidence: health.renewalConfidence,
    riskIndicators: [...health.riskIndicators],
    healthEventId: eventId,
    openOpportunityIds: [...openOpportunityIds],
    syncTimestamp: health.syncTimestamp.toISOString(),
  };
}

export const healthSignal: SyncKind<HealthSignalPayload> = {
  name: 'health_signal',
  mutationOnly: true,
  sourceTime: (p) => instant('syncTimestamp', p.syncTimestamp),
  map(p): RowChange[] {
    return [
      {
        model: 'HealthSignal',
        key: { customerId: p.customerId },
        fields: {
          healthScore: p.healthScore,
          expansionOpportunities: [...p.expansionOpportunities],
          renewalConfidence: p.renewalConfidence,
          riskIndicators: [...p.riskIndicators],
          healthEventId: p.healthEventId,
        },
      },
      ...p.openOpportunityIds.map((id) => ({
        model: 'ExpansionOpportunity',
        key: { id },
        fields: { customerId: p.customerId, csHealthScore: p.healthScore },
      })),
    ];
  },
  quality: { required: ['customerId', 'healthScore', 'syncTimestamp'], optional: ['renewalConfidence'] },
};
