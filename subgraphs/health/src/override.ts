/**
 * The admin override (issue 8: "health can no longer be set by hand except by an admin override that
 * is recorded as such"). An override is its own row (HealthOverride), never a write over the computed
 * fields: health-engine keeps recomputing underneath, `CustomerHealth.score` shows the override while
 * it applies (not cleared, not expired) and the computed score again afterwards with no further write.
 * Both kinds are mutation-only and go through the one pipeline (provenance, quality, outbox event
 * `health.override_health` / `health.clear_health_override`), timed by the arrival time.
 */
import { badUserInput } from '@hub/core/errors';
import type { SyncKind } from '@hub/core/sync/types';
import type { HealthOverride } from '@hub/store/health';
import * as check from './validation.js';

export interface OverridePayload {
  readonly customerId: string;
  readonly score: number;
  readonly reason: string;
  readonly by: string;
  readonly at: Date;
  readonly expiresAt: Date | null;
}

export interface ClearOverridePayload {
  readonly customerId: string;
  readonly by: string;
  readonly at: Date;
}

/** Whether an override applies at `now`. */
export function applies(override: HealthOverride | null | undefined, now: Date): override is HealthOverride {
  return !!override && override.clearedAt === null && (override.expiresAt === null || override.expiresAt > now);
}

export const overrideHealthKind: SyncKind<OverridePayload> = {
  name: 'override_health',
  mutationOnly: true,
  sourceTime: (p) => p.at,
  sourceTimeField: 'input',
  map(p) {
    const reason = check.optionalText('input.reason', p.reason, 500);
    if (!reason) throw badUserInput('input.reason', 'is required');
    if (p.expiresAt && p.expiresAt <= p.at) throw badUserInput('input.expiresAt', 'must be in the future');
    return [
      {
        model: 'HealthOverride',
        key: { customerId: check.customerId('input.customerId', p.customerId) },
        fields: {
          score: check.intInRange('input.score', p.score, 0, 100),
          reason,
          overriddenBy: p.by,
          overriddenAt: p.at,
          expiresAt: p.expiresAt,
          clearedAt: null,
          clearedBy: null,
        },
      },
    ];
  },
  quality: { required: ['customerId', 'score', 'reason'], optional: ['expiresAt'] },
};

export const clearOverrideKind: SyncKind<ClearOverridePayload> = {
  name: 'clear_health_override',
  mutationOnly: true,
  mode: 'update',
  sourceTime: (p) => p.at,
  sourceTimeField: 'customerId',
  map: (p) => [
    {
      model: 'HealthOverride',
      key: { customerId: check.customerId('customerId', p.customerId) },
      fields: { clearedAt: p.at, clearedBy: p.by },
    },
  ],
  quality: { required: ['customerId'], optional: [] },
};
