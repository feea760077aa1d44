/**
 * The customer's trail across domains, newest first, from per-domain pages (each newest first).
 *
 * Every domain is its own chain and pages on its own; merging them by time is only safe down to the
 * frontier: a domain with more pages may still hold entries just older than its oldest loaded one,
 * so loaded entries of other domains older than that wait until the next page ("more") comes in.
 */
import type { AuditEntry, AuditPage, Domain } from './api.js';

export interface DomainCursor {
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  /** The oldest loaded entry's time (ms), undefined when none is loaded. */
  readonly oldest: number | undefined;
}

export interface Trail {
  readonly entries: readonly AuditEntry[];
  readonly cursors: Partial<Record<Domain, DomainCursor>>;
}

export const EMPTY_TRAIL: Trail = { entries: [], cursors: {} };

/** Adds one round of pages (the domains asked in that round) to what is loaded. */
export function addPages(trail: Trail, pages: Partial<Record<Domain, { auditTrail: AuditPage } | null>>): Trail {
  const entries = [...trail.entries];
  const cursors = { ...trail.cursors };
  for (const [domain, answer] of Object.entries(pages) as [Domain, { auditTrail: AuditPage } | null][]) {
    if (answer === null) continue;
    const page = answer.auditTrail;
    const nodes = page.edges.map((e) => e.node);
    entries.push(...nodes);
    const last = nodes.at(-1);
    cursors[domain] = {
      endCursor: page.pageInfo.endCursor ?? cursors[domain]?.endCursor ?? null,
      hasNextPage: page.pageInfo.hasNextPage,
      totalCount: page.totalCount,
      oldest: last ? Date.parse(last.at) : cursors[domain]?.oldest,
    };
  }
  return { entries, cursors };
}

/** The time no shown entry may be older than: the newest "oldest loaded" of the domains with more. */
function frontier(trail: Trail): number {
  let bound = -Infinity;
  for (const cursor of Object.values(trail.cursors)) {
    if (cursor.hasNextPage && cursor.oldest !== undefined) bound = Math.max(bound, cursor.oldest);
  }
  return bound;
}

/** The entries in order (newest first; one domain's ties by position), down to the frontier. */
export function shownEntries(trail: Trail): AuditEntry[] {
  const bound = frontier(trail);
  return trail.entries
    .filter((entry) => Date.parse(entry.at) >= bound)
    .sort(
      (a, b) =>
        Date.parse(b.at) - Date.parse(a.at) ||
        a.domain.localeCompare(b.domain) ||
        Number(BigInt(b.position) - BigInt(a.position)),
    );
}

/** The domains with more pages, each after its own cursor (the next round's query). */
export function nextPages(trail: Trail): Partial<Record<Domain, string | null>> {
  const next: Partial<Record<Domain, string | null>> = {};
  for (const [domain, cursor] of Object.entries(trail.cursors) as [Domain, DomainCursor][]) {
    if (cursor.hasNextPage) next[domain] = cursor.endCursor;
  }
  return next;
}

export const totalCount = (trail: Trail) =>
  Object.values(trail.cursors).reduce((sum, cursor) => sum + cursor.totalCount, 0);
