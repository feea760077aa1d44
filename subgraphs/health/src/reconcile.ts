/**
 * Health's own reconciliation check (`health`, run by the `reconcile` job after the kit's replica and
 * log checks; packages/core/src/reconcile.ts): each customer's stored health equals the formula
 * (formula.ts) applied to its stored inputs (`HealthInputRow`, kept by the consumers) — "health
 * reflects the latest inputs".
 *
 * Compared: the overall score and the three dimension scores (usage, engagement, support), which
 * depend on the inputs alone. Not compared: the time-dependent fields (data quality decays with the
 * inputs' age, the 30-day change with the history) and the payment status (finance's value wins over
 * the engine's). Not checked: a customer whose stored health is not the engine's (another source
 * wrote it before the engine ever computed) or who has an override in force (an admin's value shown
 * instead, on purpose).
 *
 * Repair recomputes the differing customers through the same path as the consumers and the daily
 * `health-recompute` (recompute.ts), under the keys `reconcile:<run>:<customer>`, in one transaction.
 */
import { jobActor } from '@hub/core/audit';
import type { Difference, ReconcileCheck } from '@hub/core/reconcile';
import { computeHealth } from './formula.js';
import { inputsOf } from './inputs.js';
import { HEALTH_ENGINE, healthPipeline, loadInputs, recomputeHealth } from './recompute.js';

const COMPARED = ['score', 'usageScore', 'engagementScore', 'supportSatisfaction'] as const;
const CHUNK = 1000;

export const healthCheck: ReconcileCheck = {
  name: 'health',
  async check({ store, tenantId, now }) {
    const differences: Difference[] = [];
    let checked = 0;
    let after = '';
    for (;;) {
      const stored = await store.query<Record<(typeof COMPARED)[number], number> & { customerId: string }>(
        `SELECT h."customerId", h."score", h."usageScore", h."engagementScore", h."supportSatisfaction"
           FROM "HealthScore" h
          WHERE h."tenantId" = $1 AND h."customerId" > $2 AND h."sourceSystem" = $3
            AND NOT EXISTS (SELECT 1 FROM "HealthOverride" o WHERE o."tenantId" = h."tenantId"
                              AND o."customerId" = h."customerId" AND o."clearedAt" IS NULL
                              AND (o."expiresAt" IS NULL OR o."expiresAt" > $4))
          ORDER BY h."customerId" LIMIT ${CHUNK}`,
        [tenantId, after, HEALTH_ENGINE, now],
      );
      if (stored.length === 0) break;
      const inputs = await loadInputs(
        store,
        tenantId,
        stored.map((row) => row.customerId),
        now,
      );
      for (const row of stored) {
        checked++;
        const input = inputs.get(row.customerId);
        if (!input) continue;
        const computed = computeHealth(inputsOf(row.customerId, input.rows, input.before, input.at), input.at);
        const fields = COMPARED.filter((field) => Number(row[field]) !== computed[field]);
        if (fields.length > 0)
          differences.push({ check: 'health', key: `health:${row.customerId}`, kind: 'different', fields });
      }
      after = stored.at(-1)?.customerId ?? after;
    }
    return { checked, differences };
  },
  async repair({ store, tenantId, runId, now }, differences) {
    const customers = differences.map((d) => d.key.slice('health:'.length));
    for (let i = 0; i < customers.length; i += CHUNK) {
      const chunk = customers.slice(i, i + CHUNK);
      await store.transaction((tx) =>
        recomputeHealth(
          { sql: tx, sync: healthPipeline(store, tenantId, jobActor('reconcile', runId), tx) },
          tenantId,
          chunk,
          (customerId) => `reconcile:${runId}:${customerId}`,
          now,
        ),
      );
    }
  },
};
