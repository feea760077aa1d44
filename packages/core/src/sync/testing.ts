/**
 * Test helpers for the sync API, shared by every domain's sync tests: the `sync<Domain>` mutation
 * with the whole `SyncBatchResult` selection and its answer types, the admins' bookkeeping query,
 * and the small tools the declaration tests use (a rejection's code and field, a payload with one
 * path changed, raw SQL over a subgraph's store). Real stores and real HTTP only, as in ../testing.ts.
 */
import { expect } from 'vitest';
import type { Domain } from '../domains.js';
import { gql, senderOf } from '../testing.js';
import type { Viewer } from '../viewer.js';
import { pascal } from './sdl.js';
import type { SqlExecutor } from './types.js';

/** The `sync<Domain>` mutation of `domain` (`syncProduct`, ...), as sdl.ts derives it. */
export function syncField(domain: Domain): string {
  return `sync${pascal(domain)}`;
}

/** `sync<Domain>(events: $events)` selecting every field of `SyncBatchResult` (packages/core/src/graphql/sync.graphql). */
export function syncMutation(domain: Domain): string {
  return /* GraphQL */ `
    mutation ($events: [${pascal(domain)}SyncEventInput!]!) {
      ${syncField(domain)}(events: $events) {
        results {
          index
          line
          idempotencyKey
          kind
          outcome
          firstOutcome
          code
          reason
          field
          deadLetterId
          conflicts {
            id
            model
            field
            rule
            winner
          }
          quality {
            completeness
            validity
            consistency
            timeliness
            score
          }
        }
        counts {
          applied
          merged
          stale
          duplicate
          rejected
        }
      }
    }
  `;
}

/** `SyncQualityScore` as a client receives it. */
export interface SyncQualityAnswer {
  completeness: number;
  validity: number;
  consistency: number;
  timeliness: number;
  score: number;
}

/** `SyncFieldConflict` as a client receives it. */
export interface SyncConflictAnswer {
  id: string;
  model: string;
  field: string;
  rule: string;
  winner: string;
}

/** `SyncEventResult` as a client receives it. */
export interface SyncEventAnswer {
  index: number;
  line: number | null;
  idempotencyKey: string;
  kind: string;
  outcome: string;
  firstOutcome: string | null;
  code: string | null;
  reason: string | null;
  field: string | null;
  deadLetterId: string | null;
  conflicts: SyncConflictAnswer[];
  quality: SyncQualityAnswer | null;
}

/** `SyncBatchResult` as a client receives it. */
export interface SyncBatchAnswer {
  results: SyncEventAnswer[];
  counts: { applied: number; merged: number; stale: number; duplicate: number; rejected: number };
}

/** The data of a `syncMutation(domain)` response, keyed by the mutation's name (`SyncAnswer<'product'>['syncProduct']`). */
export type SyncAnswer<D extends Domain = Domain> = { [K in `sync${Capitalize<D>}`]: SyncBatchAnswer };

/**
 * Sends `events` to `domain`'s sync mutation at `url` (by default as `senderOf` the acme tenant:
 * the integration account of the events' common source, else acme's admin) and returns the batch,
 * failing the test on any GraphQL error.
 */
export async function syncBatch(
  url: string,
  domain: Domain,
  events: readonly Record<string, unknown>[],
  viewer: Viewer = senderOf('acme', domain, events),
): Promise<SyncBatchAnswer> {
  const res = await gql<Record<string, SyncBatchAnswer>>(url, syncMutation(domain), { events }, viewer);
  expect(res.errors).toBeUndefined();
  const batch = res.data?.[syncField(domain)];
  if (!batch) throw new Error(`${syncField(domain)} answered no batch`);
  return batch;
}

/** `Query.sync.<domain>`: recent data quality, the first 50 conflicts and the first 50 dead letters not yet replayed. */
export function syncBookkeepingQuery(domain: Domain): string {
  return /* GraphQL */ `
    query {
      sync {
        ${domain} {
          domain
          dataQuality(windowHours: 1) {
            records
            rejected
            accuracy {
              value
              target
              meetsTarget
            }
            completeness {
              value
            }
          }
          syncConflicts(first: 50) {
            totalCount
            edges {
              node {
                id
                field
                model
                storedValue
                incomingValue
                winner
                resolvedBy
              }
            }
          }
          deadLetters(first: 50, filter: { replayed: false }) {
            totalCount
            edges {
              node {
                id
                code
                field
                payload
              }
            }
          }
        }
      }
    }
  `;
}

/** `DomainSync` as `syncBookkeepingQuery` selects it. */
export interface DomainSyncAnswer {
  domain: string;
  dataQuality: {
    records: number;
    rejected: number;
    accuracy: { value: number; target: number; meetsTarget: boolean };
    completeness: { value: number };
  };
  syncConflicts: {
    totalCount: number;
    edges: {
      node: {
        id: string;
        field: string;
        model: string;
        storedValue: string | null;
        incomingValue: string | null;
        winner: string;
        resolvedBy: string | null;
      };
    }[];
  };
  deadLetters: {
    totalCount: number;
    edges: { node: { id: string; code: string; field: string | null; payload: string } }[];
  };
}

/** The data of a `syncBookkeepingQuery(domain)` response (`SyncBookkeepingAnswer<'product'>['sync']['product']`). */
export interface SyncBookkeepingAnswer<D extends Domain = Domain> {
  sync: { [K in D]: DomainSyncAnswer };
}

/** The `extensions.code` and `extensions.field` of what `run` throws; fails when it throws nothing. */
export function rejection(run: () => unknown, label = ''): { code: unknown; field: unknown } {
  try {
    run();
  } catch (error) {
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
    return { code: extensions['code'], field: extensions['field'] };
  }
  throw new Error(`expected a rejection${label ? `: ${label}` : ''}`);
}

/** A deep copy of `payload` with the value at dotted `path` replaced (`undefined` deletes it). */
export function withPath<T>(payload: T, path: string, value: unknown): T {
  const copy = structuredClone(payload) as Record<string, unknown>;
  const parts = path.split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  const last = parts.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy as T;
}

/**
 * Raw SQL over a subgraph's Prisma client as the engine's `SqlExecutor` (what `loadFacts` and
 * `afterApply` receive), pushing each statement's text to `statements` when given.
 */
export function sqlOf(client: unknown, statements?: string[]): SqlExecutor {
  const prisma = client as { $queryRawUnsafe<T>(sql: string, ...params: unknown[]): Promise<T[]> };
  return {
    query: (text, ...params) => {
      statements?.push(text);
      return prisma.$queryRawUnsafe(text, ...params);
    },
  };
}
