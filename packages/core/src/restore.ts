/**
 * Restore of one domain's store to a point in time (issue 11 item 6; README "Restore"): a logical
 * dump of the domain's schemas taken at T (`dumpDomain`, pg_dump custom format), loaded back
 * (`loadDump`), then brought forward from the one log of the domain that survives outside its store —
 * its JetStream stream `HUB_<DOMAIN>` (kept REPLAY_WINDOW_DAYS, `max_age`) — and its consumers moved
 * back to the dump's positions so they receive again what came after T. The other domains' stores are
 * never opened.
 *
 * Why it is exactly-once (and why the embedded bus cannot be restored this way: its log is the outbox,
 * which the loss took with it):
 *   - `replayLostEvents`: every event of the stream after the dump's last outbox row that the restored
 *     outbox lacks (matched by event id) is applied again through the domain's own pipeline, in stream
 *     order (= the original commit order), under its original idempotency key and source, in ONE
 *     transaction per event with its outbox row: the pipeline's freshly written outbox row is swapped
 *     for the original one (same id, type, payload, source and times) and the relay position moved
 *     past it — it is on the bus already, so the relay sends nothing again and downstream consumers
 *     see no new event id. An interrupted replay resumes: the events committed are in the outbox, and
 *     are skipped. A stream event whose kind the pipeline does not know (appendOutbox writes: grants,
 *     deletions) is logged back only. Rows of the dump's outbox that were not yet published at T but
 *     reached the stream after are put behind the position too.
 *   - Why a position is enough (a row is published iff its seq <= the position, relay.ts): the relay
 *     published in seq order, so the stream's first copies follow the outbox's seq order. Every row
 *     of the dump up to the last one the stream holds reached the stream (read here or not: the read
 *     starts 5 minutes before the dump's last commit), and every row of the dump came before any
 *     event lost with the store (committed after T), so once one lost event is on the stream the whole
 *     dump is; a replayed row is inserted last, so the position moved to it covers only rows that are
 *     on the stream.
 *   - `rewindConsumers`: each consumer's durable is moved to the cursor the dump recorded for it (or
 *     the stream's beginning when it had none), so the consumers re-consume every event after T of
 *     the streams they read. Their inbox rows after T were lost; what they wrote through the pipeline
 *     was just replayed under the same keys (`<consumer>:<event id>`), so those writes answer DUPLICATE
 *     and emit nothing; what they wrote outside it (the customer replica) is written again.
 */
import { spawn } from 'node:child_process';
import { attachStoreSql, type CustomerKeys, type StoreConfig, type StoreSql } from '@hub/store';
import pg from 'pg';
import { jobActor } from './audit.js';
import { bookkeepingCryptoOf } from './crypto/index.js';
import type { Domain } from './domains.js';
import type { NatsBus } from './events/bus-nats.js';
import { ADVANCE_RELAY_POSITION, UNPUBLISHED } from './events/relay.js';
import { bossSchema } from './events/jobs.js';
import type { EventEnvelope } from './events/types.js';
import { OUTBOX_LOCK_SQL, createSyncPipeline } from './sync/engine.js';
import { uuidv7 } from './sync/ids.js';
import type { SyncDefinition } from './sync/types.js';

type PostgresConfig = Extract<StoreConfig, { kind: 'postgres' }>;

/** The database URL without the Prisma parameters pg_dump would refuse. */
function libpqUrl(config: PostgresConfig): string {
  const url = new URL(config.url);
  url.searchParams.delete('schema');
  url.searchParams.delete('connection_limit');
  return url.toString();
}

/** What one domain's dump holds: its schema and its pg-boss schema (jobs in flight at T come back too). */
export function domainSchemas(domain: Domain, config: PostgresConfig): string[] {
  return [config.schema, bossSchema(domain)];
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${String(code)}: ${stderr.trim()}`)),
    );
  });
}

/** pg_dump (custom format, one consistent snapshot) of the domain's schemas to `file`. */
export async function dumpDomain(domain: Domain, config: PostgresConfig, file: string): Promise<void> {
  const schemas = domainSchemas(domain, config).flatMap((schema) => ['--schema', schema]);
  await run('pg_dump', ['--format=custom', '--no-owner', ...schemas, '--file', file, libpqUrl(config)]);
}

/**
 * Replaces the domain's schemas by the dump's: dropped (whatever the loss left of them), then
 * pg_restore in one transaction (a failed load leaves the schemas absent, and is simply run again).
 */
export async function loadDump(domain: Domain, config: PostgresConfig, file: string): Promise<void> {
  const client = new pg.Client({ connectionString: libpqUrl(config) });
  await client.connect();
  try {
    for (const schema of domainSchemas(domain, config))
      await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
  await run('pg_restore', [
    '--no-owner',
    '--single-transaction',
    '--exit-on-error',
    '--dbname',
    libpqUrl(config),
    file,
  ]);
}

export interface ReplayReport {
  /** Stream events read from the position of the dump's last outbox row. */
  readonly read: number;
  /** Already in the restored outbox (before T, or replayed by an earlier, interrupted run). */
  readonly present: number;
  /** Re-applied through the pipeline with their outbox row. */
  readonly replayed: number;
  /** Logged back without a pipeline write (a kind the pipeline does not know). */
  readonly loggedOnly: number;
  /** Outbox rows of the dump unpublished at T that the stream holds: the relay position moved past them. */
  readonly markedPublished: number;
  /** Pipeline outcomes of the re-applied events (APPLIED, UNCHANGED, DUPLICATE, REJECTED ...). */
  readonly outcomes: Record<string, number>;
}

/**
 * The payload with its source time where the kind reads it (`sourceTimeField`), when the caller gave
 * none: a mutation without `sourceUpdatedAt` took its arrival time (mutationSourceTime), which a
 * replay must not replace by its own — the event's `occurredAt` is that time.
 */
function withSourceTime(
  payload: Record<string, unknown>,
  field: string | undefined,
  occurredAt: string,
): Record<string, unknown> {
  if (!field) return payload;
  const copy = structuredClone(payload);
  const path = field.split('.');
  let node: Record<string, unknown> = copy;
  for (const step of path.slice(0, -1)) {
    const next = node[step];
    if (next === null || typeof next !== 'object') return payload;
    node = next as Record<string, unknown>;
  }
  const last = path.at(-1) as string;
  if (node[last] === undefined || node[last] === null) node[last] = occurredAt;
  return copy;
}

/** How far before the dump's last outbox commit the stream is read (commit times are transaction starts). */
const OVERLAP_MS = 5 * 60_000;

export async function replayLostEvents(options: {
  domain: Domain;
  store: StoreSql;
  bus: NatsBus;
  definition: SyncDefinition;
  customerKeys: CustomerKeys;
  /** Read the stream from here instead of the dump's last outbox commit − 5 minutes. */
  since?: Date | undefined;
  /** Tests: after each replayed event committed (a crash point). */
  afterEvent?: ((replayed: number) => void | Promise<void>) | undefined;
}): Promise<ReplayReport> {
  const { domain, store, bus, definition, customerKeys } = options;
  const runId = uuidv7();
  const [last] = await store.query<{ at: Date | string | null }>(
    `SELECT max("committed_at") AS "at" FROM "hub_sync_outbox"`,
  );
  const since = options.since ?? (last?.at ? new Date(new Date(last.at).getTime() - OVERLAP_MS) : undefined);
  const events: EventEnvelope[] = await bus.read(
    domain,
    since ? { from: 'time', time: since } : { from: 'beginning' },
    Number.MAX_SAFE_INTEGER,
  );
  const known = new Set(
    events.length === 0
      ? []
      : (
          await store.query<{ id: string }>(
            `SELECT "id"::text AS "id" FROM "hub_sync_outbox" WHERE "id" = ANY($1::uuid[])`,
            [events.map((e) => e.id)],
          )
        ).map((row) => row.id),
  );
  const markedPublished =
    events.length === 0
      ? 0
      : await store.transaction(async (tx) => {
          const [last] = await tx.query<{ seq: string | null }>(
            `SELECT max("seq")::text AS "seq" FROM "hub_sync_outbox" WHERE "id" = ANY($1::uuid[]) AND ${UNPUBLISHED}`,
            [events.map((e) => e.id)],
          );
          if (!last?.seq) return 0;
          const [moved] = await tx.query<{ n: number }>(
            `SELECT count(*)::int AS "n" FROM "hub_sync_outbox" WHERE ${UNPUBLISHED} AND "seq" <= $1::bigint`,
            [last.seq],
          );
          await tx.execute(ADVANCE_RELAY_POSITION, [last.seq]);
          return moved?.n ?? 0;
        });
  const kinds = new Map(definition.kinds.map((kind) => [kind.name, kind]));
  const prefix = `${domain}.`;
  // The stream carries the PII values encrypted (crypto/bookkeeping.ts): re-applied in plaintext,
  // the pipeline encrypts them again in the rows and the bookkeeping it writes. The store's codec
  // must be on (enableSqlEncryption; scripts/restore.ts), or a sealed value would be applied as text.
  const books = bookkeepingCryptoOf(store);
  const outcomes: Record<string, number> = {};
  let present = 0;
  let replayed = 0;
  let loggedOnly = 0;
  for (const event of events) {
    if (known.has(event.id)) {
      present++;
      continue;
    }
    const kind = event.type.startsWith(prefix) ? event.type.slice(prefix.length) : event.type;
    const stored = event.payload as Record<string, unknown>;
    const payload = (books ? await books.openOutbox(event.tenantId, kind, stored) : stored) as {
      idempotencyKey?: string;
      data?: Record<string, unknown>;
    };
    const declared = kinds.get(kind);
    const applies = declared !== undefined && payload.data !== undefined;
    await store.transaction(async (tx) => {
      const [head] = await tx.query<{ seq: string | null }>(`SELECT max("seq")::text AS "seq" FROM "hub_sync_outbox"`);
      if (applies) {
        const client = {};
        attachStoreSql(client, store);
        const pipeline = createSyncPipeline({
          definition,
          client,
          transaction: tx,
          scope: { tenantId: event.tenantId, customerIds: null },
          customerKeys,
          defaultSource: event.source,
          // As the event was accepted the first time: its own source, system-of-record ones included.
          claimableSources: 'all',
          actor: jobActor('restore', runId),
          // Arrival as the first time (quality timeliness, idempotency record).
          now: () => new Date(event.committedAt),
        });
        const [result] = await pipeline.apply([
          {
            kind,
            payload: withSourceTime(payload.data ?? {}, declared?.sourceTimeField, event.occurredAt),
            source: event.source,
            idempotencyKey: payload.idempotencyKey ?? null,
          },
        ]);
        const outcome = result?.outcome ?? 'REJECTED';
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        // The pipeline's own event of this write is the original one, which the bus already carries.
        await tx.execute(`DELETE FROM "hub_sync_outbox" WHERE "seq" > $1::bigint`, [head?.seq ?? '0']);
      }
      await tx.query(OUTBOX_LOCK_SQL);
      const [row] = await tx.query<{ seq: string }>(
        `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "payload", "occurred_at",
           "committed_at", "schema_version")
         VALUES ($1::uuid, $2, $3, $4, $5, $6::json, $7::timestamptz, $8::timestamptz, $9) RETURNING "seq"::text AS "seq"`,
        [
          event.id,
          event.tenantId,
          event.customerId,
          event.type,
          event.source,
          JSON.stringify(event.payload),
          event.occurredAt,
          event.committedAt,
          event.schemaVersion,
        ],
      );
      if (row) await tx.execute(ADVANCE_RELAY_POSITION, [row.seq]);
    });
    if (applies) replayed++;
    else loggedOnly++;
    await options.afterEvent?.(replayed + loggedOnly);
  }
  return { read: events.length, present, replayed, loggedOnly, markedPublished, outcomes };
}

export interface RewoundConsumer {
  readonly consumer: string;
  readonly stream: Domain;
  /** The cursor of the dump (the last event it finished), or null: from the stream's beginning. */
  readonly cursor: string | null;
}

/** Moves each consumer's durable to the position its restored cursor records (see the module comment). */
export async function rewindConsumers(options: {
  store: StoreSql;
  bus: NatsBus;
  consumers: readonly { readonly name: string; readonly from: Domain }[];
}): Promise<RewoundConsumer[]> {
  const rewound: RewoundConsumer[] = [];
  for (const consumer of options.consumers) {
    const [row] = await options.store.query<{ cursor: string }>(
      `SELECT "cursor" FROM "hub_event_cursor" WHERE "consumer" = $1 AND "stream" = $2 AND "bus" = 'nats'`,
      [consumer.name, consumer.from],
    );
    const cursor = row?.cursor ?? null;
    await options.bus.rewind(
      consumer.from,
      consumer.name,
      cursor === null ? { from: 'beginning' } : { from: 'cursor', cursor },
    );
    rewound.push({ consumer: consumer.name, stream: consumer.from, cursor });
  }
  return rewound;
}

/** Bookkeeping that moves on its own (job runs, reports, queues): not part of a store's content. */
const VOLATILE =
  /^(hub_job_run|hub_reconciliation.*|hub_integration_health|hub_sync_relay_position|_prisma_migrations|hub_migrations)$/;

/**
 * Per table of `schema` (its content, not its bookkeeping; or `tables`): row count and an
 * order-independent digest of the rows without `ignoreColumns` — what "untouched" and "restored as it
 * was" are measured with.
 */
export async function schemaDigest(
  url: string,
  schema: string,
  options: { tables?: readonly string[]; ignoreColumns?: readonly string[] } = {},
): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: libpqUrl({ kind: 'postgres', url, schema }) });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
      [schema],
    );
    const digest: Record<string, string> = {};
    for (const { table_name: table } of tables.rows) {
      if (options.tables ? !options.tables.includes(table) : VOLATILE.test(table)) continue;
      const name = `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`;
      const { rows } = await client.query<{ n: number; md5: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(h, '' ORDER BY h)) AS md5
           FROM (SELECT md5((to_jsonb(t) - $1::text[])::text) AS h FROM ${name} t) x`,
        [options.ignoreColumns ?? []],
      );
      digest[table] = `${String(rows[0]?.n ?? 0)}:${rows[0]?.md5 ?? ''}`;
    }
    return digest;
  } finally {
    await client.end();
  }
}
