/**
 * The contract of change events (issue 8): the envelope every committed change travels in, the bus
 * the outbox relay publishes to, the consumers that other domains declare, and the batch jobs.
 *
 * Design notes and the reasons for each choice: docs/design/change-events.md.
 *
 *   engine (one tx: rows + idempotency + outbox row)          packages/core/src/sync/engine.ts
 *     -> relay (outbox rows in seq order, one leader per store) events/relay.ts
 *     -> bus: EmbeddedLogBus (no NATS_URL) | NatsBus (NATS_URL) events/bus*.ts
 *     -> consumers of other domains (inbox dedupe in their tx)  events/consumer.ts
 *     -> (issue 9) the gateway's subscription fan-out
 */
import type { SqlTx, StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { SyncEvent, SyncResult } from '../sync/types.js';

/** Version of the envelope's own shape; a consumer refuses (dead-letters) a major it does not know. */
export const ENVELOPE_VERSION = 1;

/**
 * One committed change, as every bus carries it and every consumer receives it. Built by the relay
 * from a `hub_sync_outbox` row of the producing domain's store; JSON on the wire (dates as ISO text).
 */
export interface EventEnvelope<P = Record<string, unknown>> {
  /** The outbox row's id (UUIDv7): NATS `Nats-Msg-Id`, the consumers' inbox key. */
  readonly id: string;
  /** `<domain>.<kind>`, e.g. `product.usage_analytics_sync`, `health.customer_health_sync`. */
  readonly type: string;
  readonly tenantId: string;
  /** The customer the change is about; null for tenant-wide rows (campaigns, segments). */
  readonly customerId: string | null;
  /** The producing domain = the stream. */
  readonly domain: Domain;
  /** Source system of the change (`salesforce`, `health-engine`, `admin:u1`). */
  readonly source: string;
  /** Source time (ISO 8601): when the change happened in the source system. */
  readonly occurredAt: string;
  /** When the producing transaction committed its outbox row (ISO 8601). */
  readonly committedAt: string;
  /** Schema version of `payload` for this `type` (1 unless a kind's payload changed incompatibly). */
  readonly schemaVersion: number;
  /**
   * Position in the domain's stream, increasing with commit order (not necessarily contiguous):
   * the outbox `seq` on the embedded log, the JetStream stream sequence on NATS. What consumers and
   * (issue 9) subscribers resume from. Opaque to clients; compare only within one stream.
   */
  readonly cursor: string;
  readonly payload: P;
}

/** What the engine writes into `payload` (`hub_sync_outbox.payload`) for a sync event. */
export interface SyncEventPayload {
  readonly idempotencyKey: string;
  readonly outcome: 'APPLIED' | 'MERGED';
  /** The event's payload as the engine received it (camelCase GraphQL input shape of its kind). */
  readonly data: Readonly<Record<string, unknown>>;
  /** The rows it changed: per row the natural key and the columns whose values changed (new values). */
  readonly rows: readonly {
    readonly model: string;
    readonly id: string;
    readonly key: Readonly<Record<string, unknown>>;
    readonly changed: Readonly<Record<string, unknown>>;
  }[];
}

/** Where a consumer starts when it has no stored position yet, or where a replay starts. */
export type StartPosition =
  | { readonly from: 'beginning' }
  | { readonly from: 'now' }
  | { readonly from: 'cursor'; readonly cursor: string }
  | { readonly from: 'time'; readonly time: Date };

export interface Delivery {
  readonly event: EventEnvelope;
  /** How many times this event was handed to this consumer (1 the first time). */
  readonly attempt: number;
  /** Done: the bus may forget the event for this consumer. */
  ack(): Promise<void>;
  /** Transient failure: deliver again after `delayMs`. */
  retry(delayMs: number): Promise<void>;
}

/**
 * How a subscription groups ready deliveries (issue 8): up to `maxEvents` events of one stream that
 * are ready together, waiting at most `lingerMs` after the first for more. Nothing waits while a
 * batch is full; under no load a lone event waits `lingerMs` at most.
 */
export interface BatchPolicy {
  /** @default 256 */
  readonly maxEvents: number;
  /** @default 5 */
  readonly lingerMs: number;
}

export const DEFAULT_BATCH: BatchPolicy = { maxEvents: 256, lingerMs: 5 };

export interface Subscription {
  /** Stops delivering; in-flight handlers finish first. */
  close(): Promise<void>;
}

/**
 * The bus between the relays and the consumers. One stream per producing domain; each consumer has
 * a durable name and its own position per stream. Delivery is at least once and in stream order per
 * consumer (a consumer settles one batch of ready events at a time per stream, see `BatchPolicy`);
 * exactly-once *effect* comes from the consumer's inbox (events/consumer.ts), never from the bus.
 */
export interface EventBus {
  readonly kind: 'embedded' | 'nats';
  /** Publishes in the given order; resolves when the bus holds them durably. Duplicates by `id` are dropped. */
  publish(domain: Domain, events: readonly Omit<EventEnvelope, 'cursor'>[]): Promise<void>;
  /**
   * Durable subscription of `durable` to `domain`'s stream, filtered by `types` (all when absent).
   * The bus hands over batches (`batch`, default one event at a time when only `handle` is given)
   * in stream order and settles them in order: the deliveries acknowledged before the first that
   * is not are done; from that one on (asked to `retry`, or left untouched) the rest of the batch is
   * delivered again, after the retry's delay, with that one's attempt counted up. So a retried event
   * is never overtaken by a later one of its stream.
   */
  subscribe(options: {
    readonly domain: Domain;
    readonly durable: string;
    readonly types?: readonly string[];
    readonly start: StartPosition;
    readonly batch?: BatchPolicy;
    /** One delivery at a time (a batch of one). */
    handle?(delivery: Delivery): Promise<void>;
    /** A batch of ready deliveries, in stream order (takes precedence over `handle`). */
    handleBatch?(deliveries: readonly Delivery[]): Promise<void>;
  }): Promise<Subscription>;
  /**
   * How far `durable` is behind `domain`'s stream head: events not yet acknowledged, and the commit
   * time of the oldest of them (null when caught up). With `tenantId`, only that tenant's events
   * (`syncStatus` is per tenant). Feeds `syncStatus` and the lag metrics.
   */
  lag(
    domain: Domain,
    durable: string,
    tenantId?: string,
  ): Promise<{ readonly pending: number; readonly oldestCommittedAt: string | null }>;
  /** Events of `domain` from `start`, in order, without touching any consumer's position (replay, subscriptions). */
  read(domain: Domain, start: StartPosition, limit: number): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** What a consumer's handler gets: the event and its own store's transaction. */
export interface ConsumerContext {
  readonly event: EventEnvelope;
  /**
   * The consumer's own store transaction, which also records the event id in `hub_event_inbox`:
   * the handler's writes and the inbox row commit together, so a redelivered event changes nothing.
   */
  readonly tx: SqlTx;
  /** The consuming domain's sync pipeline bound to `tx` (writes as `source`, claimableSources 'all'). */
  readonly sync: {
    apply(events: readonly SyncEvent[]): Promise<SyncResult[]>;
  };
}

/**
 * What a batch handler gets (`ConsumerDefinition.handleBatch`): events of one tenant this consumer
 * has not applied yet (inbox rows claimed in `tx`), in stream order, and the consuming domain's
 * pipeline bound to `tx` in that tenant. A consumer that can fold (health: recompute each customer
 * once from its latest inputs) writes with one `sync.apply` per batch instead of one per event.
 */
export interface ConsumerBatchContext {
  readonly tenantId: string;
  readonly events: readonly EventEnvelope[];
  readonly tx: SqlTx;
  readonly sync: ConsumerContext['sync'];
}

/**
 * A domain's reaction to another domain's events, declared in `subgraphs/<domain>/src/consumers.ts`
 * and run by the consumer runtime inside that domain's process (it writes that domain's store).
 */
export interface ConsumerDefinition {
  /** Durable name, unique across the hub: `<consumingDomain>.<what>` (`health.recompute`). */
  readonly name: string;
  /** Producing domain whose stream it reads. */
  readonly from: Domain;
  /** Event types it handles (`product.usage_analytics_sync`); others are acknowledged unseen. */
  readonly types: readonly string[];
  /** Source its writes carry (the system of record it is, e.g. `health-engine`). */
  readonly source: string;
  /** Where a new consumer starts (default `beginning`: the whole retained log). */
  readonly start?: StartPosition;
  /**
   * Throw `PermanentEventError` for an event that can never succeed (dead-lettered at once); any
   * other throw is transient and retried with backoff until `maxAttempts`, then dead-lettered.
   */
  handle(ctx: ConsumerContext): Promise<void>;
  /**
   * Optional: a batch in one call and one transaction, instead of `handle` per event and one
   * transaction each. Must leave the state `handle` would for each event in order (per-customer
   * order is the events' order), and should call `sync.apply` once: the engine's outbox lock is
   * held from a transaction's first apply to its commit, so a second apply's row locks can deadlock
   * with the store's other writers (that is also why `handle` alone gets one transaction per event).
   * A throw fails the batch: the runtime splits it until the failing event is alone, and that one
   * is retried or dead-lettered by the rules above (a batch of one is still passed here).
   */
  handleBatch?(ctx: ConsumerBatchContext): Promise<void>;
  readonly maxAttempts?: number;
}

export class PermanentEventError extends Error {
  override readonly name = 'PermanentEventError';
}

export function defineConsumer(definition: ConsumerDefinition): ConsumerDefinition {
  if (!/^[a-z]+\.[a-z0-9-]+$/.test(definition.name))
    throw new Error(`consumer name ${definition.name} must be <domain>.<name>`);
  if (definition.types.length === 0) throw new Error(`consumer ${definition.name} handles no event types`);
  return definition;
}

/** A batch job, declared in `subgraphs/<domain>/src/jobs.ts`, run by the job runner (events/jobs.ts). */
export interface JobDefinition {
  /** `health-recompute`, `finance-rollup`, ...: what `npm run job -- <name>` takes. */
  readonly name: string;
  readonly domain: Domain;
  /** Cron in UTC (`0 2 * * *` daily at 02:00), or null for on-demand only. */
  readonly schedule: string | null;
  readonly description: string;
  /**
   * The flags an on-demand run may carry (`npm run job -- reconcile --repair`, `run<Domain>Job(flags:
   * ["repair"])`), e.g. `repair`; a flag the job does not declare is refused. Default: none.
   */
  readonly flags?: readonly string[];
  /**
   * Does the work in resumable chunks: `ctx.checkpoint` is stored with the run, so a run killed
   * halfway resumes after the last checkpoint and never applies a chunk twice (each chunk's writes
   * go through the sync pipeline with idempotency keys derived from run id + chunk).
   */
  run(ctx: JobContext): Promise<JobSummary>;
  /**
   * The tenants a run without a tenant (the schedule, `npm run job` without `--tenant`) covers: the
   * runner does it as one run record per tenant, each with its own checkpoint and visible to that
   * tenant's admins only. Required: a run over the whole store would be one record whose figures
   * (customers processed, outcomes) describe every tenant, and no tenant's admin may see those.
   */
  tenants(store: StoreSql): Promise<readonly string[]>;
}

/** The domain's sync pipeline for one tenant, as a job writes through it (source `job:<name>`). */
export interface JobSync {
  apply(events: readonly SyncEvent[]): Promise<SyncResult[]>;
}

export interface JobContext {
  readonly runId: string;
  readonly tenantId: string | null;
  /** The last checkpoint the run stored (null on a fresh run). */
  readonly resumeFrom: unknown;
  /** The run's flags (declared in `JobDefinition.flags`), kept with the run so a resumed run has them too. */
  readonly flags?: readonly string[];
  checkpoint(state: unknown, progress: { processed: number; failed: number; total?: number }): Promise<void>;
  readonly store: StoreSql;
  readonly signal: AbortSignal;
  /**
   * When the run was asked for (added by the job runner): a job derives its period from it (the
   * day a daily rollup covers), so a run resumed after midnight still covers the same period.
   */
  readonly queuedAt: Date;
  /**
   * The domain's sync pipeline for `tenantId` (added by the job runner): writes of domain rows go
   * through it with idempotency keys from run id + chunk, so a resumed chunk is a DUPLICATE and
   * every change gets its outbox event. Tenant-wide scope, customers not re-checked (a job derives
   * its rows from the store's own).
   */
  sync(tenantId: string): JobSync;
}

export interface JobSummary {
  readonly processed: number;
  readonly failed: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export function defineJob(definition: JobDefinition): JobDefinition {
  if (!/^[a-z][a-z0-9-]+$/.test(definition.name)) throw new Error(`job name ${definition.name} must be kebab-case`);
  return definition;
}
