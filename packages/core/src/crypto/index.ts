/**
 * Encryption at rest of a store (issue 11 item 3), switched on once where the store is opened (the
 * subgraph kit): the plan derived from the classification, the codecs (the columns', the sync
 * bookkeeping's) registered on the store's driver (the sync engine, its admin reads, reconciliation,
 * restore and rotation find them there, as they find the driver on the client), and the Prisma
 * client wrapped by the encrypting extension.
 */
import { attachStoreSql, type Store, type StoreSql } from '@hub/store';
import { piiNames, type Classification } from '../classification.js';
import { BookkeepingCrypto } from './bookkeeping.js';
import type { MasterKeyProvider } from './envelope.js';
import { FieldCrypto, encryptionPlan, storeTables } from './fields.js';
import { encryptingClient } from './prisma.js';

export { EncryptionError, envMasterKeys, parseMasterKey, DEV_MASTER_KEY, type MasterKeyProvider } from './envelope.js';
export { FieldCrypto, type EncryptionPlan } from './fields.js';
export { BOOKKEEPING, BookkeepingCrypto, type BookkeepingColumn } from './bookkeeping.js';

const codecs = new WeakMap<object, FieldCrypto>();
const bookkeeping = new WeakMap<object, BookkeepingCrypto>();

/** The codec of a store's driver (or client), when its store encrypts something. */
export function fieldCryptoOf(target: object): FieldCrypto | undefined {
  return codecs.get(target);
}

/** The codec of the PII in a store's sync bookkeeping (bookkeeping.ts), on its driver or client. */
export function bookkeepingCryptoOf(target: object): BookkeepingCrypto | undefined {
  return bookkeeping.get(target);
}

interface EncryptionOptions {
  cacheSize?: number;
  /** Tenants whose keys to have ready (the demo seed's). */
  tenants?: readonly string[];
}

/**
 * The codecs of a migrated store (the plan reads its tables), registered on each of `targets`; none
 * when the schema classifies nothing PII (then neither a column nor the bookkeeping can hold any).
 */
async function register(
  sql: StoreSql,
  targets: readonly object[],
  classification: Classification,
  master: MasterKeyProvider,
  options: EncryptionOptions,
): Promise<FieldCrypto | undefined> {
  const plan = encryptionPlan(classification, await storeTables(sql));
  const names = piiNames(classification);
  if (plan.size === 0 && names.size === 0) return undefined;
  const crypto = new FieldCrypto(sql, plan, master, options.cacheSize);
  await crypto.keyring.preload(options.tenants);
  const books = new BookkeepingCrypto(crypto.keyring, names);
  for (const target of targets) {
    codecs.set(target, crypto);
    bookkeeping.set(target, books);
  }
  return crypto;
}

/**
 * Turns encryption on for `store` (migrated: the plan reads its tables). Replaces `store.client`
 * with the encrypting client when a table has a PII column; a store whose schema classifies nothing
 * PII is left as it is. Returns the codec, or undefined when nothing is encrypted there.
 */
export async function enableEncryption<C>(
  store: Store<C>,
  classification: Classification,
  master: MasterKeyProvider,
  options: EncryptionOptions = {},
): Promise<FieldCrypto | undefined> {
  const crypto = await register(store.sql, [store.sql, store.backgroundSql], classification, master, options);
  if (!crypto) return undefined;
  const client = crypto.plan.size === 0 ? store.client : encryptingClient(store.client, crypto);
  attachStoreSql(client as object, store.sql);
  codecs.set(client as object, crypto);
  const books = bookkeepingCryptoOf(store.sql);
  if (books) bookkeeping.set(client as object, books);
  store.client = client;
  return crypto;
}

/**
 * Encryption on a bare driver (no Prisma client): for tools that open a store's SQL only, e.g. the
 * restore (scripts/restore.ts), whose replay writes through the pipeline and reads the event log.
 */
export function enableSqlEncryption(
  sql: StoreSql,
  classification: Classification,
  master: MasterKeyProvider,
): Promise<FieldCrypto | undefined> {
  return register(sql, [sql], classification, master, {});
}
