/**
 * The events `bench:events` offers (scripts/bench-events.ts and its producer thread,
 * bench-events-producer.ts): usage events of product for 500 customers of one tenant, numbered by
 * their usage count so every stage of the benchmark can tell them apart.
 */
export const CUSTOMERS = 500;
export const TENANT = 'bench';

/** The event number a usage event carries (its usage count, `usageCount: i` in `usageEvent`). */
export function eventNumber(event: { payload: Record<string, unknown> }): number {
  const data = (event.payload as { data?: Record<string, unknown> }).data ?? {};
  if (typeof data['usageCount'] === 'number') return data['usageCount'];
  const features = data['featureUsage'] as { coreFeatures?: { usageCount?: number }[] } | undefined;
  return features?.coreFeatures?.[0]?.usageCount ?? NaN;
}

export const customerOf = (i: number) => `cust_${String(i % CUSTOMERS).padStart(5, '0')}`;

/** A usage event for customer `i % 500`; its figures vary with `i`, so every event changes an input. */
export function usageEvent(kind: string, i: number, at: Date) {
  if (kind === 'record_feature_usage')
    return {
      kind: 'record_feature_usage',
      payload: {
        customerId: customerOf(i),
        periodStart: '2026-11-01',
        periodEnd: '2026-11-30',
        feature: ['email_campaigns', 'analytics_dashboard', 'api_integrations'][i % 3],
        category: i % 3 === 2 ? 'ADVANCED' : 'CORE',
        usageCount: i,
        adoptionScore: (i % 100) / 100,
        successCorrelation: 0.9,
        sourceUpdatedAt: at.toISOString(),
      },
    };
  // The brief's usage_analytics_sync: three features and an adoption record (four rows).
  return {
    kind: 'usage_analytics_sync',
    payload: {
      customerId: customerOf(i),
      usagePeriod: '2026-11-01_to_2026-11-30',
      featureUsage: {
        coreFeatures: [
          { feature: 'email_campaigns', usageCount: i, adoptionScore: 0.85, successCorrelation: 0.92 },
          { feature: 'analytics_dashboard', usageCount: 23, adoptionScore: 0.65, successCorrelation: 0.78 },
        ],
        advancedFeatures: [
          { feature: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 },
        ],
      },
      adoptionMetrics: {
        overallAdoptionRate: (i % 100) / 100,
        featureDiscoveryRate: 0.45,
        activationTime: '14_days',
        maturityLevel: 'intermediate',
      },
      successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
      syncTimestamp: at.toISOString(),
    },
  };
}
