/**
 * What this subgraph holds of a Customer: only its key. The customers subgraph owns the entity;
 * every field this subgraph adds is resolved from the key through a loader.
 */
export interface CustomerRef {
  id: string;
}
