/**
 * `rotate-keys` (on demand: `npm run job -- rotate-keys [--rewrap-only]`), per tenant, in every
 * store that encrypts something, without downtime:
 *
 * 1. re-wraps the tenant's keys that a master key other than the current one wrapped (a master key
 *    rotation: `HUB_MASTER_KEY` the new key, `HUB_MASTER_KEY_PREVIOUS` the old one until this ran);
 * 2. unless `--rewrap-only`, retires the tenant's writing data key and creates a new one (one
 *    transaction; the checkpoint names the new key, so a resumed run does not create another);
 * 3. re-encrypts, in chunks of 500 rows in key order, every encrypted column not written by the
 *    writing key — values of older keys and plaintext written before encryption alike (the migration
 *    path of existing data) — with its blind index. Each chunk's UPDATE applies only to rows still
 *    holding what it read, so a concurrent write is never overwritten; a second pass picks up rows
 *    written meanwhile under the previous key by a process that had not seen the new one yet.
 *
 * Readers accept every key of the tenant throughout (a value names its key), so no read fails while
 * it runs. The summary says what it re-wrapped, re-encrypted and what is left on older keys.
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import { defineJob, type JobDefinition } from '../events/types.js';
import { VALUE_VERSION } from './envelope.js';
import type { EncryptedModel, FieldCrypto } from './fields.js';
import { createKey, wrapContext } from './keyring.js';

export const ROTATE_KEYS_JOB = 'rotate-keys';
const CHUNK = 500;

interface Checkpoint {
  newKeyId: string | null;
  rewrapped: number;
  reencrypted: number;
  pass: number;
  model: number;
  after: string | null;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A row with a value the writing key (`$2`, its prefix of length `$3`) did not write. */
function staleCondition(fields: readonly string[]): string {
  return fields.map((f) => `(t.${quote(f)} IS NOT NULL AND left(t.${quote(f)}, $3) <> $2)`).join(' OR ');
}

async function rewrap(sql: StoreSql, crypto: FieldCrypto, tenantId: string): Promise<number> {
  const master = crypto.keyring.master;
  const rows = await sql.query<{
    id: string;
    tenant_id: string;
    purpose: string;
    wrapped_key: string;
    master_key_id: string;
  }>(
    `SELECT "id", "tenant_id", "purpose", "wrapped_key", "master_key_id" FROM "hub_data_key"
      WHERE "tenant_id" = $1 AND "master_key_id" <> $2`,
    [tenantId, master.currentId],
  );
  for (const row of rows) {
    const material = await master.unwrap(row.wrapped_key, row.master_key_id, wrapContext(row));
    const { wrapped, masterKeyId } = await master.wrap(material, wrapContext(row));
    await sql.query(
      `UPDATE "hub_data_key" SET "wrapped_key" = $3, "master_key_id" = $4 WHERE "tenant_id" = $1 AND "id" = $2`,
      [tenantId, row.id, wrapped, masterKeyId],
    );
  }
  return rows.length;
}

/** Retires the tenant's writing data key and creates the next one, in one transaction; the new key's id. */
async function newDataKey(sql: StoreSql, crypto: FieldCrypto, tenantId: string): Promise<string> {
  const id = await sql.transaction(async (tx) => {
    await tx.query(
      `UPDATE "hub_data_key" SET "retired_at" = now() WHERE "tenant_id" = $1 AND "purpose" = 'data' AND "retired_at" IS NULL`,
      [tenantId],
    );
    return createKey(tx, crypto.keyring.master, tenantId, 'data');
  });
  crypto.keyring.forget(tenantId);
  return id;
}

export function rotateKeysJob(domain: Domain, crypto: FieldCrypto): JobDefinition {
  const models = [...crypto.plan.entries()];
  return defineJob({
    name: ROTATE_KEYS_JOB,
    domain,
    schedule: null,
    flags: ['rewrap-only'],
    description: `Key rotation of ${domain}: re-wraps data keys under the current master key, creates a new data key and re-encrypts the encrypted columns`,
    async tenants(sql) {
      const parts = [
        `SELECT DISTINCT "tenant_id" AS "t" FROM "hub_data_key"`,
        ...models.map(([model]) => `SELECT DISTINCT "tenantId" AS "t" FROM ${quote(model)}`),
      ];
      const rows = await sql.query<{ t: string }>(`${parts.join(' UNION ')} ORDER BY 1`);
      return rows.map((row) => row.t);
    },
    async run(ctx) {
      const tenantId = ctx.tenantId;
      if (tenantId === null) throw new Error(`${ROTATE_KEYS_JOB} runs per tenant`);
      const sql = ctx.store;
      const resumed = (ctx.resumeFrom ?? null) as Checkpoint | null;
      let state: Checkpoint;
      if (resumed !== null) state = resumed;
      else {
        const rewrapped = await rewrap(sql, crypto, tenantId);
        const newKeyId = ctx.flags?.includes('rewrap-only') ? null : await newDataKey(sql, crypto, tenantId);
        state = { newKeyId, rewrapped, reencrypted: 0, pass: 0, model: 0, after: null };
        await ctx.checkpoint(state, { processed: 0, failed: 0 });
      }
      crypto.keyring.forget(tenantId);
      const keys = await crypto.writeKeys(tenantId);
      const current = `${VALUE_VERSION}:${keys.data.id}:`;
      for (; state.pass < 2; state = { ...state, pass: state.pass + 1, model: 0, after: null }) {
        for (; state.model < models.length; state = { ...state, model: state.model + 1, after: null }) {
          const entry: readonly [string, EncryptedModel] | undefined = models[state.model];
          if (!entry) continue;
          const [model, spec] = entry;
          const stale = staleCondition(spec.fields);
          const columns = [...spec.fields, ...spec.blindIndex.values()];
          for (;;) {
            if (ctx.signal.aborted) throw new Error('rotate-keys run cancelled');
            const rows: Record<string, unknown>[] = await sql.query<Record<string, unknown>>(
              `SELECT t."id", t."tenantId", ${spec.fields.map((f) => `t.${quote(f)}`).join(', ')} FROM ${quote(model)} t
                WHERE t."tenantId" = $1 AND (${stale}) AND ($4::text IS NULL OR t."id" > $4)
                ORDER BY t."id" LIMIT ${CHUNK}`,
              [tenantId, current, current.length, state.after],
            );
            if (rows.length === 0) break;
            const read = rows.map((row) => ({ ...row }));
            await crypto.decodeRows(model, rows);
            const updates = rows.map((row, i) => {
              const encoded = crypto.encodeRow(keys, model, row);
              const was = read[i] ?? {};
              return Object.fromEntries([
                ['id', row['id']],
                ...columns.map((c) => [c, encoded[c] ?? null]),
                ...spec.fields.map((f) => [`was_${f}`, was[f] ?? null]),
              ]);
            });
            const changed: number = await sql.transaction((tx) =>
              tx.execute(
                `UPDATE ${quote(model)} t SET ${columns.map((c) => `${quote(c)} = x.${quote(c)}`).join(', ')}
                   FROM json_to_recordset($2::json) AS x("id" text, ${[
                     ...columns,
                     ...spec.fields.map((f) => `was_${f}`),
                   ]
                     .map((c) => `${quote(c)} text`)
                     .join(', ')})
                  WHERE t."tenantId" = $1 AND t."id" = x."id"
                    AND ${spec.fields.map((f) => `t.${quote(f)} IS NOT DISTINCT FROM x.${quote(`was_${f}`)}`).join(' AND ')}`,
                [tenantId, JSON.stringify(updates)],
              ),
            );
            state = {
              ...state,
              reencrypted: state.reencrypted + changed,
              after: String(rows[rows.length - 1]?.['id']),
            };
            await ctx.checkpoint(state, { processed: state.reencrypted, failed: 0 });
          }
        }
      }
      const remaining: Record<string, number> = {};
      for (const [model, spec] of models) {
        const [row] = await sql.query<{ n: number | string }>(
          `SELECT count(*) AS n FROM ${quote(model)} t WHERE t."tenantId" = $1 AND (${staleCondition(spec.fields)})`,
          [tenantId, current, current.length],
        );
        remaining[model] = Number(row?.n ?? 0);
      }
      return {
        processed: state.reencrypted,
        failed: 0,
        details: { dataKey: keys.data.id, newKey: state.newKeyId !== null, rewrapped: state.rewrapped, remaining },
      };
    },
  });
}
