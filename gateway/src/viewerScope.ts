/**
 * A viewer's scope class: the whole viewer minus who it is (`userId`) and the request id — tenant,
 * roles, book, domains, partner grant and app, and whatever else a later viewer carries. Every rule
 * that decides rows and fields reads only these, so two viewers of one class get the same answer
 * from every subgraph: the live engine shares resolutions by it (live/shared.ts, live/batch.ts).
 */
import { canonicalJson } from '@hub/core/canonicalJson';
import type { Viewer } from '@hub/core/viewer';

const scopeKeys = new WeakMap<Viewer, string>();

export function scopeClassOf(viewer: Viewer): string {
  let key = scopeKeys.get(viewer);
  if (key === undefined) {
    const { userId: _user, requestId: _request, ...scope } = viewer;
    key = canonicalJson(scope);
    scopeKeys.set(viewer, key);
  }
  return key;
}
