import { demoCustomers, demoRandom, DEMO_TENANTS, inChunks, type SeedContext } from '@hub/core/demo';
import type { FeatureCategory, MaturityLevel, Prisma, PrismaClient } from '@hub/store/product';

const FEATURES: readonly { feature: string; category: FeatureCategory; weight: number }[] = [
  { feature: 'email_campaigns', category: 'CORE', weight: 45 },
  { feature: 'analytics_dashboard', category: 'CORE', weight: 25 },
  { feature: 'contact_management', category: 'CORE', weight: 60 },
  { feature: 'reporting', category: 'CORE', weight: 18 },
  { feature: 'automation_workflows', category: 'ADVANCED', weight: 9 },
  { feature: 'api_integrations', category: 'ADVANCED', weight: 3 },
  { feature: 'advanced_analytics', category: 'ADVANCED', weight: 6 },
  { feature: 'ai_insights', category: 'ADVANCED', weight: 4 },
];

/** The three calendar months before the demo's "now" (2025-12-05): September to November 2025. */
const PERIODS = [
  { start: '2025-09-01', end: '2025-09-30' },
  { start: '2025-10-01', end: '2025-10-31' },
  { start: '2025-11-01', end: '2025-11-30' },
] as const;

const CHUNK = 1000;

function maturityFor(rate: number): MaturityLevel {
  if (rate < 0.35) return 'BEGINNER';
  if (rate < 0.6) return 'INTERMEDIATE';
  if (rate < 0.8) return 'ADVANCED';
  return 'EXPERT';
}

const clamp01 = (value: number) => Math.round(Math.min(1, Math.max(0, value)) * 100) / 100;

/**
 * Demo usage for every demo customer: 3 monthly periods x 4-6 features, and adoption metrics
 * per period, trending slightly up or down per customer. Skips a tenant that already has rows.
 */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  for (const tenant of DEMO_TENANTS) {
    if ((await client.adoptionMetrics.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const usage: Prisma.FeatureUsageCreateManyInput[] = [];
    const adoption: Prisma.AdoptionMetricsCreateManyInput[] = [];
    for (const customer of demoCustomers().filter((c) => c.tenantId === tenant.id)) {
      const rng = demoRandom(`product:${customer.id}`);
      const engagement = rng.float(0.15, 0.95);
      const trend = rng.float(-0.06, 0.08);
      const core = FEATURES.filter((f) => f.category === 'CORE');
      const advanced = rng.some(
        FEATURES.filter((f) => f.category === 'ADVANCED'),
        engagement,
      );
      // Every customer uses the four core features, so 4-6 features per period always exist.
      const used = [...core, ...advanced].slice(0, rng.int(4, 6));
      const activationTimeDays = rng.int(5, 60);
      PERIODS.forEach((period, p) => {
        const level = clamp01(engagement + trend * p);
        const periodStart = new Date(`${period.start}T00:00:00.000Z`);
        const periodEnd = new Date(`${period.end}T00:00:00.000Z`);
        const ym = period.start.slice(0, 7).replace('-', '');
        for (const f of used) {
          const tierFactor = f.category === 'CORE' ? 1 : 0.4;
          usage.push({
            id: `fu_${customer.id}_${ym}_${f.feature}`,
            tenantId: tenant.id,
            customerId: customer.id,
            periodStart,
            periodEnd,
            feature: f.feature,
            category: f.category,
            usageCount: Math.round(f.weight * level * rng.float(0.6, 1.6)),
            adoptionScore: clamp01(level * tierFactor + rng.float(-0.1, 0.15)),
            successCorrelation: clamp01(rng.float(0.6, 0.97)),
            sourceSystem: 'product_analytics',
            sourceUpdatedAt: new Date(periodEnd.getTime() + 5 * 86_400_000),
          });
        }
        const overallAdoptionRate = clamp01(level * (used.length / FEATURES.length) * 1.3);
        adoption.push({
          id: `am_${customer.id}_${ym}`,
          tenantId: tenant.id,
          customerId: customer.id,
          periodStart,
          periodEnd,
          overallAdoptionRate,
          featureDiscoveryRate: clamp01(used.length / FEATURES.length + rng.float(-0.1, 0.05)),
          activationTimeDays,
          maturityLevel: maturityFor(overallAdoptionRate),
          highUsageHealth: clamp01(level + rng.float(-0.05, 0.1)),
          featureCompleteness: clamp01(used.length / 6 - rng.float(0, 0.2)),
          roiAchievement: clamp01(level * 1.05 + rng.float(-0.1, 0.1)),
          sourceSystem: 'product_analytics',
          sourceUpdatedAt: new Date(periodEnd.getTime() + 5 * 86_400_000),
        });
      });
    }
    await inChunks(usage, CHUNK, (data) => seed.insertRows(client, 'FeatureUsage', data, { skipDuplicates: true }));
    // Adoption rows last: their presence marks the tenant as seeded, so an interrupted seed reruns.
    await inChunks(adoption, CHUNK, (data) =>
      seed.insertRows(client, 'AdoptionMetrics', data, { skipDuplicates: true }),
    );
  }
}
