/**
 * Encryption at rest of a store (issue 11 item 3), switched on once where the store is opened (the
 * subgraph kit): the plan derived from the classification, the codec registered on the store's
 * driver (the sync engine, reconciliation and rotation find it there, as they find the driver on
 * the client), and the Prisma client wrapped by the encrypting extension.
 */
import { attachStoreSql, type Store, type StoreSql } from '@hub/store';
import type { Classification } from '../classification.js';
import type { MasterKeyProvider } from './envelope.js';
import { FieldCrypto, encryptionPlan, storeTables } from './fields.js';
import { encryptingClient } from './prisma.js';

export { EncryptionError, envMasterKeys, parseMasterKey, DEV_MASTER_KEY, type MasterKeyProvider } from './envelope.js';
export { FieldCrypto, type EncryptionPlan } from './fields.js';

const codecs = new WeakMap<object, FieldCrypto>();

/** The codec of a store's driver (or client), when its store encrypts something. */
export function fieldCryptoOf(target: object): FieldCrypto | undefined {
  return codecs.get(target);
}

/**
 * Turns encryption on for `store` (migrated: the plan reads its tables); `tenants`: tenants whose
 * keys to have ready (the demo seed's). Replaces `store.client`
 * with the encrypting client; a store whose tables hold no PII column is left as it is. Returns
 * the codec, or undefined when nothing is encrypted there.
 */
export async function enableEncryption<C>(
  store: Store<C>,
  classification: Classification,
  master: MasterKeyProvider,
  options: { cacheSize?: number; tenants?: readonly string[] } = {},
): Promise<FieldCrypto | undefined> {
  const plan = encryptionPlan(classification, await storeTables(store.sql));
  if (plan.size === 0) return undefined;
  const crypto = new FieldCrypto(store.sql, plan, master, options.cacheSize);
  await crypto.keyring.preload(options.tenants);
  const sqls: StoreSql[] = [store.sql, store.backgroundSql];
  for (const sql of sqls) codecs.set(sql, crypto);
  const client = encryptingClient(store.client, crypto);
  attachStoreSql(client as object, store.sql);
  codecs.set(client as object, crypto);
  store.client = client;
  return crypto;
}
