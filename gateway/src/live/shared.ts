/**
 * One resolution per event, payload shape and scope class (viewerScope.ts): subscribers whose
 * query, variables and viewer scope are the same get the same answer from the graph, so it is asked
 * once — never across tenants, books or grants.
 */
import type { Viewer } from '@hub/core/viewer';
import { scopeClassOf } from '../viewerScope.js';
import type { Resolution } from './payload.js';

/** How long a settled resolution stays shareable (subscribers of one event run close together). */
const KEEP_MS = 10_000;
const MAX_ENTRIES = 50_000;

export class SharedResolutions {
  private readonly entries = new Map<string, { promise: Promise<Resolution>; at: number }>();
  /** Resolutions asked of the graph (tests and metrics: sharing is measured, not assumed). */
  executed = 0;

  /** `perUser`: the payload reads PII, whose reads are audited per user — share within one user only. */
  get(
    eventKey: string,
    shapeKey: string,
    viewer: Viewer,
    perUser: boolean,
    run: () => Promise<Resolution>,
  ): Promise<Resolution> {
    const key = `${eventKey}\u0000${shapeKey}\u0000${scopeClassOf(viewer)}${perUser ? `\u0000${viewer.userId}` : ''}`;
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
