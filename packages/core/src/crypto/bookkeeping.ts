/**
 * PII inside the sync bookkeeping (issue 11 item 3: the database never holds plaintext PII). Beside
 * the rows, the engine keeps JSON that repeats their values: the outbox event payloads (`data`, the
 * event as received, and `rows[].changed`; the relay publishes them to the bus), dead letters'
 * payloads, and field conflicts' stored and incoming values. Each PII value there is stored in the
 * columns' format (envelope.ts: `v1:<data key id>:<iv>:<ciphertext>:<tag>`, the tenant's data key of
 * the store), its plaintext the value's JSON text (a refused event may carry a number where a string
 * belongs), its authenticated data the tenant and `<table>.<column>:<field>`: a value moved to
 * another record, column or field fails to decrypt.
 *
 * Which values is derived from the classification by name (`piiNames`, the audit's rule for columns
 * it cannot type): every value under a key named as a PII field (`email`, `phone`) at any depth of a
 * payload — the event's own fields and the changed rows' columns alike — the values of a conflict on
 * such a field, and the one value of an admin's override of one. Null stays null (whether a field was
 * set is no personal data). A payload without such a key is returned as it is: no copy, no key.
 *
 * Readers open what they need in plaintext (admin reads, then masked for a viewer without a PII
 * role over the row; dead-letter replay and resolveConflict; reconciliation and restore, which
 * compare with and re-apply the event log). Other domains receive ciphertext on the bus; none of
 * them reads contact PII (the customer replica reads customers). Values written before this, in
 * plaintext, read as they are.
 */
import type { StoreSql } from '@hub/store';
import { MASKS, type MaskName } from '../classification.js';
import { OVERRIDE_KIND } from '../sync/conflicts.js';
import { EncryptionError, decryptValue, encryptValue, keyIdOf, type DataKey } from './envelope.js';
import type { Keyring, TenantKeys } from './keyring.js';

type Query = Pick<StoreSql, 'query'>;
type Row = Record<string, unknown>;

/** The bookkeeping columns that keep values; with the field, a sealed value's authenticated data. */
export const BOOKKEEPING = {
  outbox: 'hub_sync_outbox.payload',
  deadLetter: 'hub_sync_dead_letter.payload',
  storedValue: 'hub_sync_conflict.stored_value',
  incomingValue: 'hub_sync_conflict.incoming_value',
} as const;
export type BookkeepingColumn = (typeof BOOKKEEPING)[keyof typeof BOOKKEEPING];

/** Called on each PII value (never null) with its authenticated-data column and its field name. */
type Visit = (value: unknown, column: string, name: string) => unknown;

const isRecord = (value: unknown): value is Row =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

export class BookkeepingCrypto {
  constructor(
    private readonly keyring: Keyring,
    /** PII field name -> its mask (classification.ts `piiNames`). */
    readonly names: ReadonlyMap<string, MaskName>,
  ) {}

  /** `value` with `visit` applied under every PII name, at any depth; unchanged parts are not copied. */
  private walk(value: unknown, column: string, visit: Visit): unknown {
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = this.walk(item, column, visit);
        if (next !== item) (out ??= [...value])[i] = next;
      });
      return out ?? value;
    }
    if (!isRecord(value)) return value;
    let out: Row | undefined;
    for (const key in value) {
      const item = value[key];
      const next = !this.names.has(key)
        ? this.walk(item, column, visit)
        : item === null || item === undefined
          ? item
          : visit(item, `${column}:${key}`, key);
      if (next !== item) (out ??= { ...value })[key] = next;
    }
    return out ?? value;
  }

  /** An admin's override (`OVERRIDE_KIND`: model, rowKey, field, value) keeps its one value under `value`. */
  private override(kind: string, payload: Row, column: string, visit: Visit): Row {
    if (kind !== OVERRIDE_KIND) return payload;
    const field = payload['field'];
    const value = payload['value'];
    if (typeof field !== 'string' || !this.names.has(field) || value === null || value === undefined) return payload;
    return { ...payload, value: visit(value, `${column}:${field}`, field) };
  }

  /** An event payload of `kind`: its PII fields, and an override's value of a PII field. */
  private event(kind: string, payload: Row, column: string, visit: Visit): Row {
    return this.override(kind, this.walk(payload, column, visit) as Row, column, visit);
  }

  /** An outbox payload (`SyncEventPayload`): its PII fields at any depth (`data`, the rows), an override's value. */
  private outbox(kind: string, payload: Row, visit: Visit): Row {
    const out = this.walk(payload, BOOKKEEPING.outbox, visit) as Row;
    const data = out['data'];
    if (!isRecord(data)) return out;
    const overridden = this.override(kind, data, BOOKKEEPING.outbox, visit);
    return overridden === data ? out : { ...out, data: overridden };
  }

  private sealing(keys: TenantKeys): Visit {
    return (value, column) => encryptValue(keys.data, column, JSON.stringify(value));
  }

  /** Whether an event's payload carries a PII value (its bookkeeping then needs the tenant's key). */
  holdsPii(kind: string, payload: Row): boolean {
    let found = false;
    this.event(kind, payload, '', (value) => {
      found = true;
      return value;
    });
    return found;
  }

  /** An event payload as a dead letter (or any `column`) stores it. */
  sealPayload(keys: TenantKeys, column: BookkeepingColumn, kind: string, payload: Row): Row {
    return this.event(kind, payload, column, this.sealing(keys));
  }

  /** An outbox payload of an event of `kind` as stored, and published to the bus. */
  sealOutbox(keys: TenantKeys, kind: string, payload: Row): Row {
    return this.outbox(kind, payload, this.sealing(keys));
  }

  /** A conflict's stored or incoming value of `field`. */
  sealValue(keys: TenantKeys, column: BookkeepingColumn, field: string, value: unknown): unknown {
    if (!this.names.has(field) || value === null || value === undefined) return value;
    return encryptValue(keys.data, `${column}:${field}`, JSON.stringify(value));
  }

  /**
   * Decrypts what `map` visits, in the tenant's keys: one key lookup for every value, then the
   * values. A value under another tenant's key is refused (DATA_KEY_UNKNOWN), a tampered or moved
   * one fails authentication (CIPHERTEXT_INVALID), as the columns' values do.
   */
  private async open<T>(tenantId: string, original: T, map: (visit: Visit) => T, via?: Query): Promise<T> {
    const ids = new Set<string>();
    map((value) => {
      const id = typeof value === 'string' ? keyIdOf(value) : null;
      if (id !== null) ids.add(id);
      return value;
    });
    if (ids.size === 0) return original;
    const keys = await this.keyring.keys(ids, via);
    return map((value, column) => {
      const id = typeof value === 'string' ? keyIdOf(value) : null;
      if (id === null) return value; // written in plaintext before the bookkeeping was encrypted
      const key = keys.get(id) as DataKey;
      if (key.tenantId !== tenantId)
        throw new EncryptionError('DATA_KEY_UNKNOWN', `${column}: the value names another tenant's key`);
      return JSON.parse(decryptValue(key, column, value as string)) as unknown;
    });
  }

  openPayload(tenantId: string, column: BookkeepingColumn, kind: string, payload: Row, via?: Query): Promise<Row> {
    return this.open(tenantId, payload, (visit) => this.event(kind, payload, column, visit), via);
  }

  openOutbox(tenantId: string, kind: string, payload: Row, via?: Query): Promise<Row> {
    return this.open(tenantId, payload, (visit) => this.outbox(kind, payload, visit), via);
  }

  openValue(tenantId: string, column: BookkeepingColumn, field: string, value: unknown, via?: Query): Promise<unknown> {
    if (!this.names.has(field)) return Promise.resolve(value);
    return this.open(
      tenantId,
      value,
      (visit) => (value === null || value === undefined ? value : visit(value, `${column}:${field}`, field)),
      via,
    );
  }

  private mask(name: string, value: unknown): unknown {
    // A number where a phone belongs is masked like any non-text value: not shown at all.
    return typeof value === 'string' ? MASKS[this.names.get(name) ?? 'REDACT'](value) : MASKS.REDACT(value);
  }

  /** An opened event payload as a viewer without a PII role over its customer reads it: PII masked. */
  maskPayload(kind: string, payload: Row): Row {
    return this.event(kind, payload, '', (value, _column, name) => this.mask(name, value));
  }

  /** An opened conflict value as such a viewer reads it. */
  maskValue(field: string, value: unknown): unknown {
    return this.names.has(field) && value !== null && value !== undefined ? this.mask(field, value) : value;
  }
}
