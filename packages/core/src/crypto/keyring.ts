/**
 * A store's tenant keys (`hub_data_key`, prisma/hub_sync/migrations/*_data_keys): created on a
 * tenant's first encrypted write, unwrapped through the master key provider once per process and
 * kept in memory. Every key of a tenant reads (a value names its key); the newest data key not
 * retired writes. The writing key is re-read after `ACTIVE_TTL_MS`, so a rotation done by another
 * process is followed within that time (rotate-keys' last pass re-encrypts what was written meanwhile).
 */
import type { StoreSql } from '@hub/store';
import { EncryptionError, newKeyId, newKeyMaterial, type DataKey, type MasterKeyProvider } from './envelope.js';

type Query = Pick<StoreSql, 'query'>;
export type KeyPurpose = 'data' | 'index';

/** What a tenant writes with: its current data key and its blind-index key. */
export interface TenantKeys {
  readonly tenantId: string;
  readonly data: DataKey;
  readonly index: DataKey;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  purpose: KeyPurpose;
  wrapped_key: string;
  master_key_id: string;
}

const ACTIVE_TTL_MS = 30_000;
const KEY_COLUMNS = `"id", "tenant_id", "purpose", "wrapped_key", "master_key_id"`;

/** What a wrapped key is bound to (AAD / KMS encryption context): a wrapped key copied to another row fails. */
export function wrapContext(row: { tenant_id: string; id: string; purpose: string }): string {
  return `hub-data-key\u0000${row.tenant_id}\u0000${row.purpose}\u0000${row.id}`;
}

export class Keyring {
  private readonly byId = new Map<string, Promise<DataKey>>();
  private readonly active = new Map<string, { at: number; keys: Promise<TenantKeys> }>();

  constructor(
    private readonly sql: StoreSql,
    readonly master: MasterKeyProvider,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The tenant's writing keys, created when it has none. `via`: an open transaction of the caller
   * (a single-connection store cannot take a second one meanwhile); what it reads is not cached,
   * since that transaction may still roll back the keys it created.
   */
  tenant(tenantId: string, via?: Query): Promise<TenantKeys> {
    if (tenantId === '') throw new EncryptionError('TENANT_REQUIRED', 'no tenant to take the keys of');
    const cached = this.active.get(tenantId);
    if (cached && this.now() - cached.at < ACTIVE_TTL_MS) return cached.keys;
    if (cached && via === undefined) {
      // Stale: answered from memory and refreshed behind. The caller may hold the one connection of
      // an embedded store (a Prisma transaction), which a refresh it awaited would wait for forever.
      cached.at = this.now();
      const refresh = this.loadActive(tenantId, this.sql);
      refresh.then(
        () => this.active.set(tenantId, { at: this.now(), keys: refresh }),
        () => undefined,
      );
      return cached.keys;
    }
    const keys = this.loadActive(tenantId, via ?? this.sql);
    if (via === undefined) {
      this.active.set(tenantId, { at: this.now(), keys });
      keys.catch(() => this.active.delete(tenantId));
    }
    return keys;
  }

  /**
   * Loads every key of the store, and the writing keys of `tenants` (created when missing), before
   * the store serves: on an embedded store a first load from inside a Prisma transaction (the
   * seed's) would wait for that transaction's own connection. A key a master key given cannot
   * unwrap fails here, at start, with its code.
   */
  async preload(tenants: readonly string[] = []): Promise<void> {
    const rows = await this.sql.query<{ id: string; tenant_id: string }>(
      `SELECT "id", "tenant_id" FROM "hub_data_key"`,
    );
    await this.keys(rows.map((row) => row.id));
    for (const tenantId of new Set([...rows.map((row) => row.tenant_id), ...tenants])) await this.tenant(tenantId);
  }

  /** Drops the cached writing keys of a tenant (after a rotation created new ones). */
  forget(tenantId: string): void {
    this.active.delete(tenantId);
  }

  /** Keys by id (any tenant's, retired or not), loaded and unwrapped once. */
  async keys(ids: Iterable<string>, via: Query = this.sql): Promise<Map<string, DataKey>> {
    const wanted = [...new Set(ids)];
    const missing = wanted.filter((id) => !this.byId.has(id));
    if (missing.length > 0) {
      const rows = via.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM "hub_data_key" WHERE "id" = ANY($1::text[])`, [
        missing,
      ]);
      for (const id of missing) {
        const key = rows.then((found) => {
          const row = found.find((r) => r.id === id);
          if (!row) throw new EncryptionError('DATA_KEY_UNKNOWN', `data key ${id} is not in this store`);
          return this.unwrap(row);
        });
        key.catch(() => this.byId.delete(id));
        this.byId.set(id, key);
      }
    }
    const found = await Promise.all(wanted.map((id) => this.byId.get(id) as Promise<DataKey>));
    return new Map(found.map((key) => [key.id, key]));
  }

  private async unwrap(row: KeyRow): Promise<DataKey> {
    const key = await this.master.unwrap(row.wrapped_key, row.master_key_id, wrapContext(row));
    return { id: row.id, tenantId: row.tenant_id, key };
  }

  private async loadActive(tenantId: string, via: Query): Promise<TenantKeys> {
    let rows = await this.activeRows(tenantId, via);
    const missing = (['data', 'index'] as const).filter((purpose) => !rows.some((r) => r.purpose === purpose));
    if (missing.length > 0) {
      for (const purpose of missing) await createKey(via, this.master, tenantId, purpose);
      rows = await this.activeRows(tenantId, via);
    }
    const pick = async (purpose: KeyPurpose) => {
      const row = rows.find((r) => r.purpose === purpose);
      if (!row) throw new EncryptionError('DATA_KEY_UNKNOWN', `tenant ${tenantId} has no ${purpose} key`);
      const key = await this.unwrap(row);
      const promise = Promise.resolve(key);
      this.byId.set(key.id, promise);
      return key;
    };
    return { tenantId, data: await pick('data'), index: await pick('index') };
  }

  private activeRows(tenantId: string, via: Query): Promise<KeyRow[]> {
    return via.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM "hub_data_key" WHERE "tenant_id" = $1 AND "retired_at" IS NULL`,
      [tenantId],
    );
  }
}

/**
 * A new key of `purpose` for the tenant, wrapped by the current master key; a no-op when another
 * writer created the tenant's writing key of that purpose first (the partial unique index).
 */
export async function createKey(
  via: Query,
  master: MasterKeyProvider,
  tenantId: string,
  purpose: KeyPurpose,
): Promise<string> {
  const id = newKeyId(purpose);
  const { wrapped, masterKeyId } = await master.wrap(
    newKeyMaterial(),
    wrapContext({ tenant_id: tenantId, id, purpose }),
  );
  await via.query(
    `INSERT INTO "hub_data_key" ("id", "tenant_id", "purpose", "wrapped_key", "master_key_id")
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT ("tenant_id", "purpose") WHERE "retired_at" IS NULL DO NOTHING`,
    [id, tenantId, purpose, wrapped, masterKeyId],
  );
  return id;
}
