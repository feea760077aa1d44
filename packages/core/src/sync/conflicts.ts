/**
 * The conflict rule, per field (docs/design/sync-pipeline.md, "Conflicts"): an admin override
 * wins; the field's system of record wins whatever the time; otherwise the later source time wins
 * and a tie keeps the stored value.
 */
import type { ConflictRule } from './types.js';

/** Where a field's value came from: source system and source time (ms since the epoch). */
export interface FieldSource {
  readonly s: string | null;
  readonly t: number | null;
}

export interface FieldDecision {
  readonly winner: 'STORED' | 'INCOMING';
  readonly rule: ConflictRule;
}

/** Source prefix of an admin's override (`override:admin:u1`); such a value wins as rule OVERRIDE. */
export const OVERRIDE_PREFIX = 'override:';

/** The engine's own kind for an override: sets one field of one stored row (`resolve<Domain>Conflict`). */
export const OVERRIDE_KIND = 'hub_override';

export function decideField(
  owners: readonly string[] | undefined,
  incoming: { readonly s: string; readonly t: number },
  stored: FieldSource,
): FieldDecision {
  if (incoming.s.startsWith(OVERRIDE_PREFIX)) return { winner: 'INCOMING', rule: 'OVERRIDE' };
  // A stored override is an admin's decision at its time: only time, not ownership, replaces it.
  const storedOverride = stored.s?.startsWith(OVERRIDE_PREFIX) ?? false;
  if (owners && owners.length > 0 && !storedOverride) {
    const incomingOwns = owners.includes(incoming.s);
    const storedOwns = stored.s !== null && owners.includes(stored.s);
    if (incomingOwns && !storedOwns) return { winner: 'INCOMING', rule: 'SYSTEM_OF_RECORD' };
    if (storedOwns && !incomingOwns) return { winner: 'STORED', rule: 'SYSTEM_OF_RECORD' };
  }
  if (stored.t === null || incoming.t > stored.t) return { winner: 'INCOMING', rule: 'LATEST_SOURCE_TIME' };
  if (incoming.t < stored.t) return { winner: 'STORED', rule: 'LATEST_SOURCE_TIME' };
  return { winner: 'STORED', rule: 'TIE_KEEPS_STORED' };
}
