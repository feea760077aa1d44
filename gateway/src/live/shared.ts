/**
 * One resolution per event, payload shape and scope class: subscribers whose query, variables and
 * viewer scope are the same get the same answer from the graph, so it is asked once. The scope
 * class is the whole viewer minus who it is (`userId`) and the request id — tenant, roles, book,
 * domains, partner grant and app, and whatever else a later viewer carries: no subgraph reads
 * `userId` to decide rows or fields, and everything that does decide them is in the key, so two
 * viewers share only when every rule must give them the same answer (never across tenants, books
 * or grants).
 */
import type { Viewer } from '@hub/core/viewer';
import type { Resolution } from './payload.js';

/** How long a settled resolution stays shareable (subscribers of one event run close together). */
const KEEP_MS = 10_000;
const MAX_ENTRIES = 50_000;

function canonical(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}

const scopeKeys = new WeakMap<Viewer, string>();

export function scopeClassOf(viewer: Viewer): string {
  let key = scopeKeys.get(viewer);
  if (key === undefined) {
    const { userId: _user, requestId: _request, ...scope } = viewer;
    key = JSON.stringify(canonical(scope));
    scopeKeys.set(viewer, key);
  }
  return key;
}

export class SharedResolutions {
  private readonly entries = new Map<string, { promise: Promise<Resolution>; at: number }>();
  /** Resolutions asked of the graph (tests and metrics: sharing is measured, not assumed). */
  executed = 0;

  get(eventKey: string, shapeKey: string, viewer: Viewer, run: () => Promise<Resolution>): Promise<Resolution> {
    const key = `${eventKey}\u0000${shapeKey}\u0000${scopeClassOf(viewer)}`;
    const now = Date.now();
    const existing = this.entries.get(key);
    if (existing && now - existing.at < KEEP_MS) return existing.promise;
    this.executed++;
    const promise = run();
    // A failed resolution is not shared: the next subscriber asks again.
    promise.catch(() => this.entries.delete(key));
    this.entries.set(key, { promise, at: now });
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
    return promise;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.at >= KEEP_MS || this.entries.size > MAX_ENTRIES) this.entries.delete(key);
      else break;
    }
  }
}
