/**
 * Right to erasure (issue 11, item 4): `eraseCustomer(id)` removes a customer's personal data from
 * every domain, once for all domains (the kit derives each domain's plan; no domain writes its own):
 *
 * - the customers domain deletes the customer (its contacts and account team with it), records an
 *   erasure tombstone that the store itself enforces (a trigger refuses a Customer row of an erased
 *   id, so no replay, import or repair brings it back) and commits `customers.customer_erased`;
 * - every other domain applies that event in its replica consumer (replicaFeed.ts), in one
 *   transaction with the replica's tombstone (which already refuses writes naming the customer):
 *   deletes the customer's rows of every customer-keyed model (`customerKeys`, plus models the graph
 *   does not serve, declared in `erasure.models`), except the models it must retain
 *   (`erasure.retain`, with the reason: finance keeps invoices and revenue records), whose fields
 *   classified PII or CONFIDENTIAL (classification.ts) are anonymised instead;
 * - each store scrubs its bookkeeping of the customer: outbox payloads are reduced to their
 *   envelope (`{"erased": true}`), conflicts (both values), row sources and dead letters (raw
 *   payloads) are deleted. Idempotency and quality records keep ids and scores only, no values.
 *   The audit trail (audit.ts) is kept: append-only and chained, and it holds ids and markers in
 *   place of personal values by construction; the erasure adds its own `erase` entry there.
 *
 * What is not reached: messages already in a JetStream stream keep their payload until the stream's
 * retention drops them (consumers skip them: the customer is a tombstone everywhere), and backups
 * taken before the erasure (restore re-applies the tombstones; README "Right to erasure").
 */
import type { SqlTx, StoreSql } from '@hub/store';
import { ErrorCode, hubError, notFound } from './errors.js';
import { appendAudit, type AuditActor } from './audit.js';
import { appendOutbox } from './sync/outbox.js';
import type { Classification } from './classification.js';
import type { Domain } from './domains.js';

/** What a domain declares beside its customer keys (SubgraphDefinition.erasure). */
export interface ErasureDeclaration {
  /**
   * Models whose rows outlive an erasure, with the reason (a retention duty, e.g. invoices): their
   * PII and CONFIDENTIAL fields are anonymised, the rest is kept under the customer's id.
   */
  readonly retain?: Readonly<Record<string, string>>;
  /** Customer-keyed models the graph does not serve (so not in `customerKeys`): model -> customer column. */
  readonly models?: Readonly<Record<string, string>>;
}

export interface ErasureStep {
  readonly model: string;
  readonly customerColumn: string;
  /** `delete` the rows, or keep them with `anonymise` columns cleared. */
  readonly action: 'delete' | 'anonymise';
  readonly anonymise: readonly string[];
  readonly reason?: string;
}

export interface ErasurePlan {
  readonly domain: Domain;
  readonly steps: readonly ErasureStep[];
}

export interface ErasureCount {
  readonly model: string;
  readonly count: number;
  readonly reason?: string;
}

/** What one domain did (stored with its tombstone; `DomainErasure` in the graph). */
export interface ErasureReport {
  readonly domain: Domain;
  readonly erasedAt: string;
  readonly requestedBy: string;
  readonly deleted: readonly ErasureCount[];
  readonly retained: readonly ErasureCount[];
  readonly bookkeeping: readonly ErasureCount[];
}

export const CUSTOMER_ERASED = 'customers.customer_erased';

/** `CustomerErasure` as a resolver returns it: the entity's key; each domain resolves its own field. */
export interface CustomerErasureRef {
  readonly customerId: string;
}

/** Text a kept non-null personal column is set to (a nullable one becomes NULL). */
export const ERASED_TEXT = '[erased]';

/**
 * The plan of a domain, derived from its customer keys, its declaration and its schema's
 * classification. Children before parents: the customer row itself (`id` column) goes last.
 * Throws when the declaration names a model that is not customer-keyed, so a typo cannot keep data.
 */
export function erasurePlan(
  domain: Domain,
  customerKeys: Readonly<Record<string, string | null>>,
  declaration: ErasureDeclaration | undefined,
  classification: Classification,
): ErasurePlan {
  const keyed: [string, string][] = [
    ...Object.entries(customerKeys).flatMap(([model, column]) => (column ? [[model, column] as [string, string]] : [])),
    ...Object.entries(declaration?.models ?? {}),
  ];
  for (const model of Object.keys(declaration?.retain ?? {}))
    if (!keyed.some(([m]) => m === model))
      throw new Error(`erasure of ${domain}: retained model ${model} is not customer-keyed`);
  const personal = (model: string) =>
    [...classification.fields]
      .filter(
        ([coordinate, { level }]) =>
          coordinate.startsWith(`${model}.`) && (level === 'PII' || level === 'CONFIDENTIAL'),
      )
      .map(([coordinate]) => coordinate.slice(model.length + 1));
  const steps = keyed
    .sort(([, a], [, b]) => Number(a === 'id') - Number(b === 'id'))
    .map(([model, customerColumn]): ErasureStep => {
      const reason = declaration?.retain?.[model];
      return reason === undefined
        ? { model, customerColumn, action: 'delete', anonymise: [] }
        : { model, customerColumn, action: 'anonymise', anonymise: personal(model), reason };
    });
  return { domain, steps };
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

const rowCount = (tx: SqlTx, text: string, params: unknown[]): Promise<number> => tx.execute(text, params);

/**
 * Erases one customer of one tenant in `tx` (the consumer's or the mutation's transaction) and
 * records the tombstone with the report. Applying it again (a redelivered event) finds nothing
 * left and keeps the first report.
 */
export async function eraseInStore(
  tx: SqlTx,
  plan: ErasurePlan,
  tenantId: string,
  customerId: string,
  requestedBy: string,
  actor: AuditActor,
): Promise<ErasureReport> {
  const [existing] = await tx.query<{ report: ErasureReport }>(
    `SELECT "report" FROM "hub_erased_customer" WHERE "tenant_id" = $1 AND "customer_id" = $2`,
    [tenantId, customerId],
  );
  if (existing) return existing.report;
  const deleted: ErasureCount[] = [];
  const retained: ErasureCount[] = [];
  for (const step of plan.steps) {
    const where = `WHERE "tenantId" = $1 AND ${quote(step.customerColumn)} = $2`;
    if (step.action === 'delete') {
      deleted.push({
        model: step.model,
        count: await rowCount(tx, `DELETE FROM ${quote(step.model)} ${where}`, [tenantId, customerId]),
      });
      continue;
    }
    let count: number;
    if (step.anonymise.length === 0) {
      const [row] = await tx.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${quote(step.model)} ${where}`, [
        tenantId,
        customerId,
      ]);
      count = Number(row?.n ?? 0);
    } else {
      const columns = await tx.query<{ column_name: string; is_nullable: string; data_type: string }>(
        `SELECT "column_name", "is_nullable", "data_type" FROM information_schema.columns
          WHERE "table_schema" = current_schema() AND "table_name" = $1 AND "column_name" = ANY($2::text[])`,
        [step.model, [...step.anonymise]],
      );
      const sets = columns.map((c) => {
        if (c.is_nullable === 'YES') return `${quote(c.column_name)} = NULL`;
        if (c.data_type === 'text' || c.data_type === 'character varying')
          return `${quote(c.column_name)} = '${ERASED_TEXT}'`;
        throw new Error(`erasure of ${plan.domain}: ${step.model}.${c.column_name} is personal, non-null and not text`);
      });
      count = await rowCount(tx, `UPDATE ${quote(step.model)} SET ${sets.join(', ')} ${where}`, [tenantId, customerId]);
    }
    retained.push({ model: step.model, count, ...(step.reason === undefined ? {} : { reason: step.reason }) });
  }
  const bookkeeping = await scrubBookkeeping(tx, tenantId, customerId);
  const report: ErasureReport = {
    domain: plan.domain,
    erasedAt: new Date().toISOString(),
    requestedBy,
    deleted,
    retained,
    bookkeeping,
  };
  await tx.execute(
    `INSERT INTO "hub_erased_customer" ("tenant_id", "customer_id", "requested_by", "report") VALUES ($1, $2, $3, $4::json)
     ON CONFLICT DO NOTHING`,
    [tenantId, customerId, requestedBy, JSON.stringify(report)],
  );
  // The audit trail keeps its entries of the customer (they hold ids and markers, no personal
  // value, by construction: audit.ts) and records the erasure itself, with the counts.
  await appendAudit(tx, tenantId, plan.domain, [
    {
      action: 'erase',
      actor,
      source: requestedBy,
      operation: 'erase_customer',
      customerIds: [customerId],
      changes: { deleted, retained, bookkeeping },
    },
  ]);
  return report;
}

/** The customer's traces in the sync and event bookkeeping of a store, reduced to ids and scores. */
async function scrubBookkeeping(tx: SqlTx, tenantId: string, customerId: string): Promise<ErasureCount[]> {
  const params = [tenantId, customerId];
  const counts: ErasureCount[] = [];
  const run = async (model: string, text: string) => counts.push({ model, count: await rowCount(tx, text, params) });
  // Payloads carry the values; the envelope (id, type, times, customer id) stays, so cursors,
  // inboxes and the relay's order are untouched and a replay applies nothing.
  await run(
    'hub_sync_outbox',
    `UPDATE "hub_sync_outbox" SET "payload" = json_build_object('erased', true, 'idempotencyKey', "payload"->'idempotencyKey',
       'outcome', "payload"->'outcome', 'data', json_build_object(), 'rows', json_build_array())
      WHERE "tenant_id" = $1 AND "customer_id" = $2 AND ("payload"->>'erased') IS NULL`,
  );
  await run('hub_sync_conflict', `DELETE FROM "hub_sync_conflict" WHERE "tenant_id" = $1 AND "customer_id" = $2`);
  await run('hub_sync_row_source', `DELETE FROM "hub_sync_row_source" WHERE "tenant_id" = $1 AND "customer_id" = $2`);
  // A dead letter has no customer column: its raw payload names the customer somewhere inside.
  await run(
    'hub_sync_dead_letter',
    `DELETE FROM "hub_sync_dead_letter" WHERE "tenant_id" = $1
        AND jsonb_path_exists("payload", '$.** ? (@ == $id)', jsonb_build_object('id', $2::text))`,
  );
  await run(
    'hub_event_dead_letter',
    `DELETE FROM "hub_event_dead_letter" WHERE "tenant_id" = $1 AND "envelope"->>'customerId' = $2`,
  );
  return counts;
}

/** The stored report of one domain's erasure of a customer, if it happened. */
export async function storedErasure(
  sql: StoreSql,
  tenantId: string,
  customerId: string,
): Promise<ErasureReport | undefined> {
  const [row] = await sql.query<{ report: ErasureReport }>(
    `SELECT "report" FROM "hub_erased_customer" WHERE "tenant_id" = $1 AND "customer_id" = $2`,
    [tenantId, customerId],
  );
  return row?.report;
}

/** How long a domain's report waits for the domain to apply a fresh erasure before saying PENDING. */
export const ERASURE_WAIT_MS = 3_000;

/** `DomainErasure` as the graph answers it. */
export interface DomainErasureOut {
  readonly status: 'ERASED' | 'PENDING';
  readonly erasedAt: Date | null;
  readonly requestedBy: string | null;
  readonly deleted: readonly ErasureCount[];
  readonly retained: readonly ErasureCount[];
  readonly bookkeeping: readonly ErasureCount[];
}

const pending: DomainErasureOut = {
  status: 'PENDING',
  erasedAt: null,
  requestedBy: null,
  deleted: [],
  retained: [],
  bookkeeping: [],
};

function out(report: ErasureReport): DomainErasureOut {
  return {
    status: 'ERASED',
    erasedAt: new Date(report.erasedAt),
    requestedBy: report.requestedBy,
    deleted: report.deleted,
    retained: report.retained,
    bookkeeping: report.bookkeeping,
  };
}

/** A request's erasure operations in one domain (ctx.sync.erasure). */
export interface ErasureAdmin {
  /** This domain's report of the customer: waits up to `waitMs` for it, then PENDING. */
  report(customerId: string, waitMs?: number): Promise<DomainErasureOut>;
  /** Whether this store erased the customer (the customers domain answers `customerErasure` by it). */
  erased(customerId: string): Promise<boolean>;
  /** The customers domain's erasure: its own rows, the tombstone and the event, in one transaction. */
  erase(customerId: string): Promise<DomainErasureOut>;
}

export function createErasureAdmin(options: {
  readonly sql: StoreSql;
  readonly plan: ErasurePlan;
  readonly tenantId: string | null;
  /** `admin:<user>`. */
  readonly actor: string;
  /** The admin as the audit trail names them (`viewerActor`). */
  readonly auditActor: AuditActor;
  /** Wakes the relay after the erasure's event committed. */
  readonly onCommitted: () => void;
}): ErasureAdmin {
  const tenant = (): string => {
    if (options.tenantId === null) throw hubError(ErrorCode.Forbidden, 'This operation needs a tenant');
    return options.tenantId;
  };
  return {
    async report(customerId, waitMs = ERASURE_WAIT_MS) {
      const tenantId = tenant();
      const deadline = Date.now() + waitMs;
      for (;;) {
        const report = await storedErasure(options.sql, tenantId, customerId);
        if (report) return out(report);
        if (Date.now() >= deadline) return pending;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async erased(customerId) {
      return (await storedErasure(options.sql, tenant(), customerId)) !== undefined;
    },
    async erase(customerId) {
      const tenantId = tenant();
      if (options.plan.domain !== 'customers') throw new Error('only the customers domain starts an erasure');
      const report = await options.sql.transaction(async (tx) => {
        const before = await tx.query<{ report: ErasureReport }>(
          `SELECT "report" FROM "hub_erased_customer" WHERE "tenant_id" = $1 AND "customer_id" = $2`,
          [tenantId, customerId],
        );
        if (before[0]) return { report: before[0].report, fresh: false };
        // The row lock keeps a concurrent write to the customer from committing in between.
        const found = await tx.query(`SELECT 1 FROM "Customer" WHERE "tenantId" = $1 AND "id" = $2 FOR UPDATE`, [
          tenantId,
          customerId,
        ]);
        if (found.length === 0) throw notFound('Customer', customerId);
        const done = await eraseInStore(tx, options.plan, tenantId, customerId, options.actor, options.auditActor);
        await appendOutbox(
          { $executeRawUnsafe: (text: string, ...values: unknown[]) => tx.execute(text, values) },
          {
            tenantId,
            customerId,
            type: CUSTOMER_ERASED,
            source: options.actor,
            payload: { customerId, requestedBy: options.actor },
          },
        );
        return { report: done, fresh: true };
      });
      if (report.fresh) options.onCommitted();
      return out(report.report);
    },
  };
}
