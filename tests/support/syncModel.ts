/**
 * The sync property test's world (tests/sync.property.e2e.ts and its child importer
 * tests/support/syncImporter.ts): a product store opened on PostgreSQL or PGlite with the one
 * engine over it, a fast-check generator of event streams (duplicates, reordering, stale and
 * conflicting sources, invalid payloads, batch sizes, injected faults), and the reference model
 * the store must end up equal to.
 *
 * The reference is written from the rules in docs/design/sync-pipeline.md, not from the engine: it
 * applies each distinct idempotency key once, in arrival order, field by field (system of record,
 * else the later source time, a tie keeps the stored value). It uses the domain's declaration
 * (`map`, the key derivation of the contract) only to know which rows a payload names.
 */
import fc from 'fast-check';
import { canonicalJson } from '@hub/core/canonicalJson';
import { createSyncPipeline, type SyncPipeline, type SyncStep } from '@hub/core/sync/engine';
import { deriveIdempotencyKey } from '@hub/core/sync/ids';
import { fieldSources } from '@hub/core/sync/sql';
import type { SyncDefinition, SyncEvent, SyncKind, SyncOutcome } from '@hub/core/sync/types';
import { defineSync } from '@hub/core/sync/types';
import { openStore, migrationsDirFor, type Store, type StoreConfig } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import { sync as productSync } from '@hub/subgraph-product/src/sync.js';
import { subgraph as productSubgraph } from '@hub/subgraph-product/src/server.js';

/**
 * The product declaration with two fields given a system of record, so the generated sources
 * conflict on owned fields too (product itself declares none: every field is latest-time-wins).
 */
export const definition: SyncDefinition = defineSync({
  ...productSync,
  models: {
    FeatureUsage: {
      ...productSync.models['FeatureUsage'],
      key: ['customerId', 'periodStart', 'feature'],
      owners: { usageCount: ['telemetry'] },
    },
    AdoptionMetrics: {
      ...productSync.models['AdoptionMetrics'],
      key: ['customerId', 'periodStart'],
      owners: { maturityLevel: ['analytics'] },
    },
  },
});

export const SOURCES = ['crm', 'telemetry', 'analytics', 'warehouse'] as const;
export const CUSTOMERS = Array.from({ length: 20 }, (_, i) => `cust_p${String(i).padStart(3, '0')}`);
/** Named by some events: not a customer of the tenant, so the batch's one check rejects them NOT_FOUND. */
export const UNKNOWN_CUSTOMER = 'cust_unknown';
const PERIODS = ['2025-07', '2025-08', '2025-09', '2025-10', '2025-11'].map((m) => {
  const [y, mo] = m.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return { start: `${m}-01`, end: `${m}-${String(last).padStart(2, '0')}` };
});
const FEATURES = [
  { feature: 'email_campaigns', category: 'CORE' },
  { feature: 'analytics_dashboard', category: 'CORE' },
  { feature: 'reporting', category: 'CORE' },
  { feature: 'automation_workflows', category: 'ADVANCED' },
  { feature: 'api_integrations', category: 'ADVANCED' },
  { feature: 'ai_insights', category: 'ADVANCED' },
] as const;
const MATURITY = ['beginner', 'intermediate', 'advanced', 'expert'] as const;
/** Few distinct values, so that equal values (no conflict) happen as often as differing ones. */
const SCORES = [0, 0.25, 0.5, 1] as const;

// ---------------------------------------------------------------------------------------------
// The store and the engine
// ---------------------------------------------------------------------------------------------

export type ProductStore = Store<PrismaClient>;

/** Opens (and by default migrates) a product store, bookkeeping tables included. */
export async function openProductStore(config: StoreConfig, { migrate = true } = {}): Promise<ProductStore> {
  const store = await openStore({
    domain: 'product',
    config,
    PrismaClient,
    migrationsDir: migrationsDirFor('product'),
  });
  if (migrate) await store.migrate();
  return store;
}

/** Thrown by an injected fault; anything else failing a batch fails the test. */
export class InjectedFault extends Error {
  constructor(readonly at: string) {
    super(`injected fault at ${at}`);
  }
}

/** Where a batch can fail: before the transaction (the batch's customer check), after each engine step. */
export const FAULT_POINTS = [
  'before-claim',
  'claimed',
  'locked',
  'rows-written',
  'bookkeeping-written',
  'committed',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface FaultPlan {
  /** The fault of the next call, if any; cleared when it fires. */
  armed: FaultPoint | null;
  /** What to do when it fires (default: throw InjectedFault). The child importer SIGKILLs itself. */
  fire?(at: FaultPoint): never;
}

/**
 * The engine over `store` for an admin of `tenantId`, with the test's fault points: "before claim"
 * as the call starts (before anything is read or written; not in the customer check, which the
 * engine skips for a batch whose customers an earlier batch of the same pipeline confirmed, so a
 * fault armed there would sometimes never fire), the engine's `hooks.afterStep` the others.
 */
export function pipelineFor(store: ProductStore, tenantId: string, faults: FaultPlan): SyncPipeline {
  const fire = (at: FaultPoint) => {
    if (faults.armed !== at) return;
    faults.armed = null;
    if (faults.fire) faults.fire(at);
    throw new InjectedFault(at);
  };
  const known = new Set(CUSTOMERS);
  const pipeline = createSyncPipeline({
    claimableSources: 'all',
    actor: { type: 'user', id: 'property', role: 'admin' },
    definition,
    client: store.client,
    scope: { tenantId, customerIds: null },
    customerKeys: productSubgraph.customerKeys ?? {},
    // The tenant's customer directory: one call per batch (the engine's contract), answered from
    // the fixed customer list this test's events are drawn from.
    async verifyCustomers(ids) {
      return new Set(ids.filter((id) => known.has(id)));
    },
    defaultSource: 'admin:property',
    hooks: { afterStep: (step: SyncStep) => fire(step) },
  });
  return {
    ...pipeline,
    async apply(events) {
      fire('before-claim');
      return pipeline.apply(events);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/** One event as drawn: which rows, which values, which source and time, with or without a key. */
interface Draw {
  kind: 0 | 1 | 2;
  customer: number;
  period: number;
  features: boolean[];
  values: number[];
  source: number;
  /** Minutes after the base time; a small range makes equal source times (ties) common. */
  minute: number;
  /** Sent a day earlier than every other event (stale against any stored field). */
  late: boolean;
  keyed: boolean;
  /** 0..99: < 2 invalid payload, < 3 unknown customer. */
  flaw: number;
  position: number;
}

interface Repeat {
  of: number;
  /** same key + same payload, same key + another payload, or the same keyless payload again. */
  how: 'same' | 'other-payload';
  source: number;
  draw: Draw;
  position: number;
}

const drawArb: fc.Arbitrary<Draw> = fc.record({
  kind: fc.constantFrom(0 as const, 1 as const, 2 as const),
  customer: fc.nat({ max: CUSTOMERS.length - 1 }),
  period: fc.nat({ max: PERIODS.length - 1 }),
  features: fc.array(fc.boolean(), { minLength: FEATURES.length, maxLength: FEATURES.length }),
  values: fc.array(fc.nat({ max: 3 }), { minLength: 10, maxLength: 10 }),
  source: fc.nat({ max: SOURCES.length - 1 }),
  minute: fc.nat({ max: 180 }),
  late: fc.nat({ max: 9 }).map((n) => n === 0),
  keyed: fc.boolean(),
  flaw: fc.nat({ max: 99 }),
  position: fc.nat(),
});

export interface Scenario {
  events: SyncEvent[];
  /** Batch sizes, in order, summing to events.length. */
  batches: number[];
  /** The fault of each batch (null: none); every fault point appears at least once. */
  faults: (FaultPoint | null)[];
}

/** `distinct` events plus `repeats` repeats of them, in batches of 1 to `maxBatch` events. */
export function scenarioArb(distinct: number, repeats: number, maxBatch = 1000): fc.Arbitrary<Scenario> {
  return fc
    .record({
      draws: fc.array(drawArb, { minLength: distinct, maxLength: distinct }),
      repeats: fc.array(
        fc.record({
          of: fc.nat(),
          how: fc.constantFrom('same' as const, 'other-payload' as const),
          source: fc.nat({ max: SOURCES.length - 1 }),
          draw: drawArb,
          position: fc.nat(),
        }),
        { minLength: repeats, maxLength: repeats },
      ),
      sizes: fc.array(fc.integer({ min: 1, max: maxBatch }), { minLength: 200, maxLength: 200 }),
      faultDraws: fc.array(fc.nat({ max: 99 }), { minLength: 200, maxLength: 200 }),
      coverage: fc.shuffledSubarray([...FAULT_POINTS], { minLength: FAULT_POINTS.length }),
      baseTime: fc.constant(Date.now() - 26 * 3_600_000),
    })
    .map(({ draws, repeats: reps, sizes, faultDraws, coverage, baseTime }) =>
      buildScenario(draws, reps, sizes, faultDraws, coverage, baseTime),
    );
}

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

function payloadOf(d: Draw, baseTime: number): { kind: string; payload: Record<string, unknown> } {
  const customerId = d.flaw >= 2 && d.flaw < 3 ? UNKNOWN_CUSTOMER : pick(CUSTOMERS, d.customer);
  const period = pick(PERIODS, d.period);
  const at = new Date(baseTime + d.minute * 60_000 - (d.late ? 86_400_000 : 0)).toISOString();
  const v = (i: number) => d.values[i] ?? 0;
  const score = (i: number) => pick(SCORES, v(i));
  // A rate above 1 is refused by map (validation): the event is REJECTED and dead-lettered.
  const rate = (i: number) => (d.flaw < 2 ? 1.5 : score(i));
  if (d.kind === 0) {
    const figures = (category: string) =>
      FEATURES.filter((f, i) => d.features[i] && f.category === category).map((f, i) => ({
        feature: f.feature,
        usageCount: v(i),
        adoptionScore: score(i + 1),
        successCorrelation: score(i + 2),
      }));
    return {
      kind: 'usage_analytics_sync',
      payload: {
        customerId,
        usagePeriod: `${period.start}_to_${period.end}`,
        featureUsage: { coreFeatures: figures('CORE'), advancedFeatures: figures('ADVANCED') },
        adoptionMetrics: {
          overallAdoptionRate: rate(3),
          featureDiscoveryRate: score(4),
          activationTime: `${v(5) * 7}_days`,
          maturityLevel: pick(MATURITY, v(6)),
        },
        successCorrelation: { highUsageHealth: score(7), featureCompleteness: score(8), roiAchievement: score(9) },
        syncTimestamp: at,
      },
    };
  }
  if (d.kind === 1) {
    const f = pick(FEATURES, (d.values[9] ?? 0) + d.customer);
    return {
      kind: 'record_feature_usage',
      payload: {
        customerId,
        periodStart: period.start,
        periodEnd: period.end,
        feature: f.feature,
        category: f.category,
        usageCount: v(0),
        adoptionScore: d.flaw < 2 ? 1.5 : score(1),
        successCorrelation: score(2),
        sourceUpdatedAt: at,
      },
    };
  }
  return {
    kind: 'record_adoption_metrics',
    payload: {
      customerId,
      periodStart: period.start,
      periodEnd: period.end,
      overallAdoptionRate: rate(0),
      featureDiscoveryRate: score(1),
      activationTimeDays: v(2) * 7,
      maturityLevel: pick(MATURITY, v(3)).toUpperCase(),
      highUsageHealth: score(4),
      featureCompleteness: score(5),
      roiAchievement: score(6),
      sourceUpdatedAt: at,
    },
  };
}

function buildScenario(
  draws: Draw[],
  repeats: Repeat[],
  sizes: number[],
  faultDraws: number[],
  coverage: FaultPoint[],
  baseTime: number,
): Scenario {
  const placed: { event: SyncEvent; position: number }[] = [];
  const originals = draws.map((d, i) => {
    const { kind, payload } = payloadOf(d, baseTime);
    const event: SyncEvent = {
      kind,
      payload,
      source: pick(SOURCES, d.source),
      ...(d.keyed ? { idempotencyKey: `k-${i}` } : {}),
    };
    placed.push({ event, position: d.position });
    return event;
  });
  for (const r of repeats) {
    const original = pick(originals, r.of);
    if (r.how === 'same') {
      // The same event again (a retry, a re-sent file): keyed or derived, the key is the same.
      placed.push({ event: { ...original, source: pick(SOURCES, r.source) }, position: r.position });
    } else {
      // Same key, another payload (of the same kind, so whichever arrives first is a valid event).
      const other = payloadOf({ ...r.draw, kind: draws[r.of % draws.length]?.kind ?? 0 }, baseTime);
      const key = original.idempotencyKey ?? deriveIdempotencyKey(definition.domain, original.kind, original.payload);
      placed.push({
        event: { kind: other.kind, payload: other.payload, source: pick(SOURCES, r.source), idempotencyKey: key },
        position: r.position,
      });
    }
  }
  // Arrival order: a random permutation (stable sort by a drawn position), so repeats may arrive
  // before their originals and source times arrive in no particular order.
  placed.sort((a, b) => a.position - b.position);
  const events = placed.map((p) => p.event);
  const batches: number[] = [];
  for (let left = events.length, i = 0; left > 0; i++) {
    const size = Math.min(left, sizes[i % sizes.length] ?? 1000);
    batches.push(size);
    left -= size;
  }
  const faults: (FaultPoint | null)[] = batches.map((_, i) => {
    const draw = faultDraws[i % faultDraws.length] ?? 0;
    return draw < 70 ? null : pick(FAULT_POINTS, draw);
  });
  // Every fault point at least once, on the first batches (a random order of the points).
  coverage.forEach((point, i) => {
    if (i < faults.length) faults[i * Math.max(1, Math.floor(faults.length / coverage.length))] = point;
  });
  return { events, batches, faults };
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

type Source = { s: string; t: number };

export interface ReferenceRow {
  model: string;
  key: Record<string, unknown>;
  values: Record<string, unknown>;
  sources: Record<string, Source>;
}

export interface Expected {
  rows: Map<string, ReferenceRow>;
  /** Per event in arrival order: the outcome the engine must answer (the first answer per key). */
  outcomes: { outcome: SyncOutcome; firstOutcome: SyncOutcome | null; key: string }[];
  /** Accepted keys and their outcome (the idempotency store). */
  keys: Map<string, SyncOutcome>;
  /** Arrival index of the event that got each accepted key its outcome. */
  acceptedAt: Map<string, number>;
  /** Keys of accepted events that changed at least one value (one outbox event each). */
  changing: Set<string>;
  /** Keys of rejected events (scored as rejected). */
  rejected: Set<string>;
  /** Keys of rejected sync-API events: the dead letters (a mutation's own kinds answer the error instead). */
  deadLetters: Set<string>;
}

export const rowId = (model: string, key: Record<string, unknown>) => `${model}|${canonicalJson(norm(key))}`;

/** A value as compared: dates as ISO strings, everything else as is. */
export function norm(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v)]));
  return value;
}

/** The conflict rule of the design notes, written out again on its own. */
function incomingWins(owners: readonly string[] | undefined, incoming: Source, stored: Source): boolean {
  const incomingOwns = owners?.includes(incoming.s) ?? false;
  const storedOwns = owners?.includes(stored.s) ?? false;
  if (incomingOwns !== storedOwns) return incomingOwns;
  return incoming.t > stored.t;
}

export function reference(events: readonly SyncEvent[]): Expected {
  const kinds = new Map(definition.kinds.map((k) => [k.name, k as unknown as SyncKind<Record<string, unknown>>]));
  const known = new Set(CUSTOMERS);
  const rows = new Map<string, ReferenceRow>();
  const keys = new Map<string, SyncOutcome>();
  const changing = new Set<string>();
  const rejected = new Set<string>();
  const deadLetters = new Set<string>();
  const outcomes: Expected['outcomes'] = [];
  const acceptedAt = new Map<string, number>();
  for (const [index, event] of events.entries()) {
    const key = event.idempotencyKey ?? deriveIdempotencyKey(definition.domain, event.kind, event.payload);
    const first = keys.get(key);
    if (first !== undefined) {
      outcomes.push({ outcome: 'DUPLICATE', firstOutcome: first, key });
      continue;
    }
    const kind = kinds.get(event.kind);
    let changes;
    let time: number;
    try {
      if (!kind) throw new Error('unknown kind');
      time = kind.sourceTime(event.payload).getTime();
      changes = kind.map(event.payload);
    } catch {
      changes = null;
      time = 0;
    }
    if (
      changes === null ||
      changes.some((c) => c.key['customerId'] !== undefined && !known.has(String(c.key['customerId'])))
    ) {
      rejected.add(key);
      if (kind?.mutationOnly !== true) deadLetters.add(key);
      outcomes.push({ outcome: 'REJECTED', firstOutcome: null, key });
      continue;
    }
    const incoming: Source = { s: event.source ?? 'admin:property', t: time };
    let written = 0;
    let kept = 0;
    let changed = false;
    for (const change of changes) {
      const id = rowId(change.model, change.key);
      const row = rows.get(id);
      if (!row) {
        const values = norm(change.fields) as Record<string, unknown>;
        const sources = Object.fromEntries(Object.keys(values).map((f) => [f, incoming]));
        rows.set(id, { model: change.model, key: norm(change.key) as Record<string, unknown>, values, sources });
        written += Object.keys(values).length;
        changed = true;
        continue;
      }
      const owners = definition.models[change.model]?.owners ?? {};
      for (const [field, raw] of Object.entries(change.fields)) {
        const value = norm(raw);
        const stored = row.sources[field] as Source;
        const wins = incomingWins(owners[field], incoming, stored);
        if (canonicalJson(value) === canonicalJson(row.values[field])) {
          // The same value: nothing to decide, but a winning source becomes the field's provenance.
          if (wins) row.sources[field] = incoming;
          continue;
        }
        if (wins) {
          row.values[field] = value;
          row.sources[field] = incoming;
          written++;
          changed = true;
        } else kept++;
      }
    }
    const outcome: SyncOutcome = kept === 0 ? 'APPLIED' : written === 0 ? 'STALE' : 'MERGED';
    keys.set(key, outcome);
    acceptedAt.set(key, index);
    if (changed) changing.add(key);
    outcomes.push({ outcome, firstOutcome: null, key });
  }
  return { rows, outcomes, keys, acceptedAt, changing, rejected, deadLetters };
}

// ---------------------------------------------------------------------------------------------
// Reading the store back
// ---------------------------------------------------------------------------------------------

export interface StoredState {
  rows: Map<string, ReferenceRow>;
  idempotency: { key: string; outcome: string }[];
  outboxKeys: string[];
  quality: { key: string; rejected: boolean }[];
  deadLetterKeys: string[];
}

const PROVENANCE = new Set(['id', 'tenantId', 'createdAt', 'updatedAt', 'sourceSystem', 'sourceUpdatedAt']);

function rowProvenance(
  row: Record<string, unknown>,
  keyCols: readonly string[],
): Record<string, { s: string; t: string }> {
  const at = row['sourceUpdatedAt'];
  const source = { s: String(row['sourceSystem']), t: at instanceof Date ? at.toISOString() : String(at) };
  return Object.fromEntries(
    Object.keys(row)
      .filter((f) => !PROVENANCE.has(f) && !keyCols.includes(f))
      .map((f) => [f, source]),
  );
}

export async function readStore(store: ProductStore, tenantId: string): Promise<StoredState> {
  const db = store.client;
  const rows = new Map<string, ReferenceRow>();
  const sources = new Map<string, Record<string, { s: string; t: string }>>();
  for (const r of await db.$queryRawUnsafe<{ model: string; row_key: string; sources: unknown }[]>(
    `SELECT model, row_key, sources FROM hub_sync_row_source WHERE tenant_id = $1`,
    tenantId,
  ))
    sources.set(`${r.model}|${r.row_key}`, fieldSources(r.sources) as Record<string, { s: string; t: string }>);
  for (const [model, keyCols] of Object.entries(definition.models).map(([m, d]) => [m, d.key] as const)) {
    const table = model === 'FeatureUsage' ? db.featureUsage : db.adoptionMetrics;
    const list = (await (table as unknown as { findMany(a: object): Promise<Record<string, unknown>[]> }).findMany({
      where: { tenantId },
    })) as Record<string, unknown>[];
    for (const row of list) {
      const key = Object.fromEntries(keyCols.map((c) => [c, row[c]]));
      // No record: every field has the row's own provenance (the engine writes a record only
      // where some field's source differs from the row's sourceSystem / sourceUpdatedAt).
      const stored =
        sources.get(`${model}|${JSON.stringify(keyCols.map((c) => norm(row[c])))}`) ?? rowProvenance(row, keyCols);
      const values: Record<string, unknown> = {};
      for (const field of Object.keys(stored)) values[field] = norm(row[field]);
      rows.set(rowId(model, key), {
        model,
        key: norm(key) as Record<string, unknown>,
        values,
        sources: Object.fromEntries(Object.entries(stored).map(([f, s]) => [f, { s: s.s, t: Date.parse(s.t) }])),
      });
    }
  }
  const idempotency = await db.$queryRawUnsafe<{ key: string; outcome: string }[]>(
    `SELECT key, outcome FROM hub_sync_idempotency WHERE tenant_id = $1`,
    tenantId,
  );
  const outbox = await db.$queryRawUnsafe<{ key: string }[]>(
    `SELECT payload->>'idempotencyKey' AS key FROM hub_sync_outbox WHERE tenant_id = $1`,
    tenantId,
  );
  const quality = await db.$queryRawUnsafe<{ key: string; rejected: boolean }[]>(
    `SELECT key, rejected FROM hub_sync_quality WHERE tenant_id = $1`,
    tenantId,
  );
  const letters = await db.$queryRawUnsafe<{ key: string }[]>(
    `SELECT key FROM hub_sync_dead_letter WHERE tenant_id = $1`,
    tenantId,
  );
  return {
    rows,
    idempotency,
    outboxKeys: outbox.map((o) => o.key),
    quality,
    deadLetterKeys: letters.map((l) => l.key),
  };
}
