/**
 * Which columns of a store are encrypted, and the codec every path through that store uses (the
 * Prisma extension of prisma.ts, the sync engine's raw SQL, reconciliation, rotation).
 *
 * Derived, not listed: a column is encrypted when the schema's classification (classification.ts,
 * the same `@classification` the masks and the audit markers derive from) says `Model.field` is
 * PII and the store has a table `Model` with a column `field`. A PII column with a sibling
 * `<field>BlindIndex` column gets a keyed blind index written beside it (equality lookups: email).
 */
import type { StoreSql } from '@hub/store';
import type { Classification } from '../classification.js';
import {
  EncryptionError,
  blindIndexOf,
  decryptValue,
  encryptValue,
  keyIdOf,
  type DataKey,
  type MasterKeyProvider,
} from './envelope.js';
import { Keyring, type TenantKeys } from './keyring.js';

type Query = Pick<StoreSql, 'query'>;

export interface EncryptedModel {
  readonly fields: readonly string[];
  /** Encrypted field -> its blind index column. */
  readonly blindIndex: ReadonlyMap<string, string>;
}

/** Model -> its encrypted columns; models without any are absent. */
export type EncryptionPlan = ReadonlyMap<string, EncryptedModel>;

export const BLIND_INDEX_SUFFIX = 'BlindIndex';

/** The plan of a store whose tables (model -> columns) are `tables`. */
export function encryptionPlan(
  classification: Classification,
  tables: ReadonlyMap<string, ReadonlySet<string>>,
): EncryptionPlan {
  const plan = new Map<string, { fields: string[]; blindIndex: Map<string, string> }>();
  for (const [coordinate, { level }] of classification.fields) {
    if (level !== 'PII') continue;
    const [model = '', field = ''] = coordinate.split('.');
    const columns = tables.get(model);
    if (!columns?.has(field)) continue;
    let entry = plan.get(model);
    if (!entry) plan.set(model, (entry = { fields: [], blindIndex: new Map() }));
    if (entry.fields.includes(field)) continue;
    entry.fields.push(field);
    const index = `${field}${BLIND_INDEX_SUFFIX}`;
    if (columns.has(index)) entry.blindIndex.set(field, index);
  }
  return plan;
}

/** The tables of the store's current schema and their columns. */
export async function storeTables(sql: Query): Promise<Map<string, Set<string>>> {
  const rows = await sql.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const tables = new Map<string, Set<string>>();
  for (const row of rows) {
    let columns = tables.get(row.table_name);
    if (!columns) tables.set(row.table_name, (columns = new Set()));
    columns.add(row.column_name);
  }
  return tables;
}

type Row = Record<string, unknown>;

/** Decrypted values kept per process (see `FieldCrypto`); 0 turns the cache off. */
export const DEFAULT_PLAINTEXT_CACHE = 20_000;

/**
 * The codec of one store: encrypts on write, decrypts on read, computes blind indexes.
 *
 * Reads keep the last `cacheSize` decrypted values by ciphertext: a stored value is written once
 * under a random IV, so its text names exactly one plaintext, already authenticated, and a hit
 * skips a cipher set-up (the cost of a GCM decrypt of a short value; a page of 100 customers
 * decrypts ~400). The cache holds what the process serves anyway; keys and values never leave memory.
 */
export class FieldCrypto {
  readonly keyring: Keyring;
  private readonly plaintexts = new Map<string, string>();

  constructor(
    sql: StoreSql,
    readonly plan: EncryptionPlan,
    master: MasterKeyProvider,
    private readonly cacheSize = DEFAULT_PLAINTEXT_CACHE,
  ) {
    this.keyring = new Keyring(sql, master);
  }

  private decrypt(key: DataKey, column: string, value: string): string {
    // By column too: the column is authenticated data, a value moved to another column must fail as it would uncached.
    const cacheKey = `${column}\u0000${value}`;
    const hit = this.plaintexts.get(cacheKey);
    if (hit !== undefined) return hit;
    const plain = decryptValue(key, column, value);
    if (this.cacheSize > 0) {
      // Oldest first out (a Map iterates in insertion order).
      if (this.plaintexts.size >= this.cacheSize) this.plaintexts.delete(this.plaintexts.keys().next().value as string);
      this.plaintexts.set(cacheKey, plain);
    }
    return plain;
  }

  encrypts(model: string): boolean {
    return this.plan.has(model);
  }

  /** Loads (creating if needed) the tenant's writing keys, so `encodeRow` can run synchronously. */
  writeKeys(tenantId: string, via?: Query): Promise<TenantKeys> {
    return this.keyring.tenant(tenantId, via);
  }

  /**
   * The row as stored: each encrypted field that is a string replaced by its ciphertext (a value
   * already encrypted is kept), its blind index set. Returns `values` itself when nothing applies.
   */
  encodeRow(keys: TenantKeys, model: string, values: Readonly<Row>): Row {
    const spec = this.plan.get(model);
    if (!spec) return values as Row;
    let out: Row | undefined;
    for (const field of spec.fields) {
      if (!Object.hasOwn(values, field)) continue;
      const value = values[field];
      out ??= { ...values };
      const index = spec.blindIndex.get(field);
      if (typeof value !== 'string') {
        if (index) out[index] = null;
        continue;
      }
      const plain = keyIdOf(value) === null ? value : null;
      if (plain === null) continue; // already ciphertext (a rotation or a copy), its index stays
      out[field] = encryptValue(keys.data, `${model}.${field}`, plain);
      if (index) out[index] = blindIndexOf(keys.index.key, `${model}.${field}`, plain);
    }
    return out ?? (values as Row);
  }

  /** The blind index to look `value` of `Model.field` up by, in the tenant's rows. */
  async blindIndex(tenantId: string, model: string, field: string, value: string, via?: Query): Promise<string> {
    const keys = await this.keyring.tenant(tenantId, via);
    return blindIndexOf(keys.index.key, `${model}.${field}`, value);
  }

  /** The blind index column of `Model.field`, when it has one. */
  blindIndexColumn(model: string, field: string): string | undefined {
    return this.plan.get(model)?.blindIndex.get(field);
  }

  /**
   * Decrypts the encrypted fields of `rows` in place. A row carrying `tenantId` must name a key of
   * that tenant (a ciphertext copied into another tenant's row is refused, not read).
   */
  async decodeRows(model: string, rows: readonly Row[], via?: Query): Promise<void> {
    const spec = this.plan.get(model);
    if (!spec || rows.length === 0) return;
    const ids = new Set<string>();
    for (const row of rows)
      for (const field of spec.fields) {
        const value = row[field];
        if (typeof value === 'string') {
          const id = keyIdOf(value);
          if (id !== null) ids.add(id);
        }
      }
    const keys = ids.size === 0 ? new Map<string, DataKey>() : await this.keyring.keys(ids, via);
    for (const row of rows)
      for (const field of spec.fields) {
        const value = row[field];
        if (typeof value !== 'string') continue;
        const id = keyIdOf(value);
        if (id === null) continue; // written in plaintext before encryption: rotate-keys encrypts it
        const key = keys.get(id) as DataKey;
        const tenant = row['tenantId'];
        if (typeof tenant === 'string' && tenant !== key.tenantId)
          throw new EncryptionError('DATA_KEY_UNKNOWN', `${model}.${field}: the value names another tenant's key`);
        row[field] = this.decrypt(key, `${model}.${field}`, value);
      }
  }
}
