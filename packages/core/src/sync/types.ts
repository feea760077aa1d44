/**
 * The contract of the one write pipeline (issue 7). Every domain mutation and every sync path hands
 * `SyncEvent`s to the engine (`engine.ts`); what differs per domain is a `SyncDefinition` declared in
 * `subgraphs/<domain>/src/sync.ts` with `defineSync`. The engine owns the SQL, the bookkeeping tables
 * (`hub_sync_*` tables in each domain store's own schema), the conflict rule, the quality score and the outcomes.
 *
 * Design notes and the reasons for each choice: docs/design/sync-pipeline.md.
 */
import type { Domain } from '../domains.js';

/** What happened to one event. */
export type SyncOutcome = 'APPLIED' | 'MERGED' | 'STALE' | 'DUPLICATE' | 'REJECTED';

/**
 * One change as it reaches the engine. GraphQL sync mutations and the NDJSON import both produce it;
 * existing domain mutations (`createTicket`, `recordFeatureUsage`, ...) produce one per call.
 */
export interface SyncEvent {
  /** The kind's name as the brief writes it, e.g. `usage_analytics_sync` (`SyncKind.name`). */
  readonly kind: string;
  /** The payload in camelCase (GraphQL input shape), e.g. `{ customerId, featureUsage, syncTimestamp }`. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Client-chosen key; when absent the engine derives `deriveIdempotencyKey(domain, kind, payload)`. */
  readonly idempotencyKey?: string | null;
  /** Source system (`salesforce`, `stripe`, `finance`); default: `SyncContext.defaultSource`. */
  readonly source?: string | null;
  /** 1-based NDJSON line number, echoed in the result and the dead letter. */
  readonly line?: number | null;
}

/** A field the conflict rule had to decide (values differed and the sources differed, or the incoming was older). */
export interface FieldConflict {
  readonly id: string;
  readonly model: string;
  readonly field: string;
  readonly rule: ConflictRule;
  readonly winner: 'STORED' | 'INCOMING';
}

/**
 * `SYSTEM_OF_RECORD`: the field's owner (declared per domain) wins whatever the time.
 * `LATEST_SOURCE_TIME`: the later source time wins. `TIE_KEEPS_STORED`: equal times keep the stored value.
 * `OVERRIDE`: an admin picked the value (`resolveConflict`).
 */
export type ConflictRule = 'SYSTEM_OF_RECORD' | 'LATEST_SOURCE_TIME' | 'TIE_KEEPS_STORED' | 'OVERRIDE';

/** Quality of one accepted record, each dimension 0..1 (rules: docs/design/sync-pipeline.md §7). */
export interface QualityScore {
  readonly completeness: number;
  readonly validity: number;
  readonly consistency: number;
  readonly timeliness: number;
  /** 0.35 validity + 0.25 completeness + 0.25 consistency + 0.15 timeliness. */
  readonly score: number;
}

/** A row the event wrote or would have written, so a single-event mutation can answer with it. */
export interface RowRef {
  readonly model: string;
  /** The row's primary key (`id` column). */
  readonly id: string;
}

/** The engine's answer for one event, in the order the events were given. */
export interface SyncResult {
  readonly index: number;
  readonly line: number | null;
  readonly idempotencyKey: string;
  readonly kind: string;
  readonly outcome: SyncOutcome;
  /** For `DUPLICATE`: the outcome the key got the first time (never `DUPLICATE`). */
  readonly firstOutcome: Exclude<SyncOutcome, 'DUPLICATE'> | null;
  /** For `REJECTED`: an `ErrorCode` (`BAD_USER_INPUT`, `NOT_FOUND` for an unknown customer, `FORBIDDEN`). */
  readonly code: string | null;
  readonly reason: string | null;
  /** For `REJECTED`: the dotted payload path at fault (`featureUsage.coreFeatures.emailCampaigns.adoptionScore`). */
  readonly field: string | null;
  /** Set when the rejected event was stored for an admin to fix and replay (not for FORBIDDEN). */
  readonly deadLetterId: string | null;
  readonly conflicts: readonly FieldConflict[];
  readonly quality: QualityScore | null;
  readonly rows: readonly RowRef[];
}

/**
 * One row an event maps to. Values are what Prisma would accept for the column (Date for dates and
 * timestamps, number, string, enum value as its string, Money as a decimal string, null).
 */
export interface RowChange {
  /** Prisma model name; the table is `"<model>"` in the domain store. */
  readonly model: string;
  /** The natural key's values: exactly `SyncModel.key`'s columns (never tenantId: the engine adds it). */
  readonly key: Readonly<Record<string, unknown>>;
  /**
   * The synced columns. On a new row, the row is `key + fields` (+ tenantId, id, timestamps), so every
   * NOT NULL column without a database default must be here. On an existing row, each field goes
   * through the conflict rule on its own.
   */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A failed check that rejects the event (the validate.ts helpers throw `badUserInput(field, message)`). */
export interface QualityCheck {
  /** Dotted payload path the check is about. */
  readonly field: string;
  readonly ok: boolean;
}

/** Per kind: what counts toward completeness, validity and consistency. */
export interface QualityRules<P> {
  /** Dotted camelCase payload paths that must be present (weight 0.6 of completeness). */
  readonly required: readonly string[];
  /** Dotted paths that should be present (weight 0.4). */
  readonly optional: readonly string[];
  /** Soft validity checks (plausible ranges, formats) beyond `map`'s hard validation; failures lower the score. */
  validity?(payload: P): readonly QualityCheck[];
  /**
   * Consistency with what the store already holds (e.g. payment status `current` vs overdue invoices).
   * `facts` is what `loadFacts` returned for the whole batch: one query per batch, never per event.
   */
  consistency?(payload: P, facts: unknown): readonly QualityCheck[];
  loadFacts?(db: SqlExecutor, tenantId: string, payloads: readonly P[]): Promise<unknown>;
}

/** Raw SQL inside the batch's transaction (Prisma's `$queryRawUnsafe`). */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
}

/** One payload kind a domain accepts. */
export interface SyncKind<P = Record<string, unknown>> {
  /** The key as the brief writes it (`usage_analytics_sync`); the GraphQL event field is its camelCase. */
  readonly name: string;
  /** Source time of the payload (the brief's `sync_timestamp`); invalid or missing rejects the event. */
  sourceTime(payload: P): Date;
  /**
   * Payload path of the source time, named by the rejection of a time more than 5 minutes in the
   * future (default `syncTimestamp`). Added to the contract by the engine (issue 7).
   */
  readonly sourceTimeField?: string;
  /**
   * Validates and maps the payload to rows. Throws `badUserInput(field, message)` (validate.ts) for a
   * payload that cannot be stored: the event is REJECTED with that field and dead-lettered.
   */
  map(payload: P): readonly RowChange[];
  readonly quality: QualityRules<P>;
  /** Not offered to the sync API (GraphQL event input, NDJSON): an existing mutation's own kind. */
  readonly mutationOnly?: boolean;
  /**
   * `upsert` (default): create the row or merge into it. `update`: the row must exist (a missing one
   * rejects the event with NOT_FOUND), for partial-update mutations such as `updateTicket`.
   * `insert`: the row must not exist (CONFLICT), for creates whose natural key the caller chose.
   */
  readonly mode?: 'upsert' | 'update' | 'insert';
}

/** How the engine treats one Prisma model of the domain. */
export interface SyncModel {
  /** Natural key columns (without tenantId); `@@unique([tenantId, ...key])` must exist. */
  readonly key: readonly string[];
  /**
   * System of record per field: the source(s) whose value wins for that field whatever the time,
   * e.g. `{ paymentStatus: ['finance'] }`. Fields not listed: latest source time wins.
   */
  readonly owners?: Readonly<Record<string, readonly string[]>>;
}

/** A domain's whole sync declaration: `subgraphs/<domain>/src/sync.ts` exports one. */
export interface SyncDefinition {
  readonly domain: Domain;
  readonly kinds: readonly SyncKind<never>[];
  readonly models: Readonly<Record<string, SyncModel>>;
}

/** Types a domain's declaration; checks at start-up that kinds and models are consistent. */
export function defineSync(definition: SyncDefinition): SyncDefinition {
  const names = new Set<string>();
  for (const kind of definition.kinds) {
    if (names.has(kind.name)) throw new Error(`${definition.domain}: sync kind ${kind.name} is declared twice`);
    names.add(kind.name);
  }
  for (const [model, declared] of Object.entries(definition.models)) {
    if (declared.key.length === 0) throw new Error(`${definition.domain}: sync model ${model} needs a natural key`);
    if (declared.key.includes('tenantId')) throw new Error(`${definition.domain}: ${model}.key must not name tenantId`);
  }
  return definition;
}
