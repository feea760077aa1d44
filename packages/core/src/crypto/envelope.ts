/**
 * Envelope encryption at rest (issue 11 item 3): the primitives. A value is encrypted with its
 * tenant's data key (AES-256-GCM, a random 96-bit IV per value); data keys are stored wrapped by a
 * master key the database never holds (`MasterKeyProvider`: the environment's `HUB_MASTER_KEY` by
 * default, a KMS by replacing one object, see README "Encryption at rest").
 *
 * Stored value format, self-describing so a reader and the rotation job know which key wrote it:
 *
 *   v1:<data key id>:<iv, base64url>:<ciphertext, base64url>:<GCM tag, base64url>
 *
 * The additional authenticated data is the tenant and the column (`<tenant>\0<Model>.<field>`): a
 * ciphertext moved to another column or another tenant's row fails to decrypt instead of reading as
 * that column's value.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** Why a value or key could not be used; `code` is what logs and tests tell failures apart by. */
export type EncryptionErrorCode =
  /** HUB_MASTER_KEY / HUB_MASTER_KEY_PREVIOUS is not base64 of 32 bytes (a config error). */
  | 'MASTER_KEY_INVALID'
  /** A data key was wrapped by a master key this process was not given. */
  | 'MASTER_KEY_UNKNOWN'
  /** Unwrapping a data key failed its authentication: the master key is not the one that wrapped it. */
  | 'MASTER_KEY_MISMATCH'
  /** A value names a data key the store does not have (or has for another tenant). */
  | 'DATA_KEY_UNKNOWN'
  /** A stored value fails authentication or its format: tampered, truncated or moved. */
  | 'CIPHERTEXT_INVALID'
  /** A write or lookup of an encrypted column without a tenant to take the key of. */
  | 'TENANT_REQUIRED'
  /** A query condition an encrypted column cannot answer (only equality through a blind index). */
  | 'UNSUPPORTED_QUERY';

export class EncryptionError extends Error {
  constructor(
    readonly code: EncryptionErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'EncryptionError';
  }
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const VALUE_VERSION = 'v1';
const PREFIX = `${VALUE_VERSION}:`;
/** Anything shaped like a versioned value; a value that starts so but does not parse is tampered, not plaintext. */
const VERSIONED = /^v\d+:/;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** A tenant's unwrapped data key, held in process memory only. */
export interface DataKey {
  readonly id: string;
  readonly tenantId: string;
  readonly key: Buffer;
}

export function newKeyMaterial(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function newKeyId(purpose: 'data' | 'index'): string {
  return `${purpose === 'data' ? 'dk' : 'ik'}_${randomBytes(9).toString('base64url')}`;
}

function aadOf(tenantId: string, column: string): Buffer {
  return Buffer.from(`${tenantId}\u0000${column}`, 'utf8');
}

/** `column` is `Model.field`. */
export function encryptValue(key: DataKey, column: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aadOf(key.tenantId, column));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${PREFIX}${key.id}:${b64url(iv)}:${b64url(body)}:${b64url(cipher.getAuthTag())}`;
}

/** True for a value in the stored format (or tampered to look like one); false for legacy plaintext. */
export function isEncrypted(value: string): boolean {
  return VERSIONED.test(value);
}

/** The data key id a stored value names, or null for plaintext written before encryption. */
export function keyIdOf(value: string): string | null {
  if (!value.startsWith(PREFIX)) {
    if (isEncrypted(value)) throw new EncryptionError('CIPHERTEXT_INVALID', 'unknown value version');
    return null;
  }
  const end = value.indexOf(':', PREFIX.length);
  if (end <= PREFIX.length) throw new EncryptionError('CIPHERTEXT_INVALID', 'no data key id');
  return value.slice(PREFIX.length, end);
}

export function decryptValue(key: DataKey, column: string, value: string): string {
  const parts = value.split(':');
  if (parts.length !== 5 || parts[0] !== VALUE_VERSION || parts[1] !== key.id)
    throw new EncryptionError('CIPHERTEXT_INVALID', `${column}: malformed value`);
  const iv = Buffer.from(parts[2] ?? '', 'base64url');
  const body = Buffer.from(parts[3] ?? '', 'base64url');
  const tag = Buffer.from(parts[4] ?? '', 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
    throw new EncryptionError('CIPHERTEXT_INVALID', `${column}: malformed value`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
    decipher.setAAD(aadOf(key.tenantId, column));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    // GCM authentication: a changed byte, another column's or another tenant's value.
    throw new EncryptionError('CIPHERTEXT_INVALID', `${column}: the value fails authentication (tampered or moved)`);
  }
}

/** What an email is looked up by: case and surrounding spaces are not part of an address's identity. */
export function normaliseForIndex(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * The keyed blind index of a value: HMAC-SHA256 under the tenant's index key, over the normalised
 * value and its column (so equal values of two columns do not match). Equality only: it hides the
 * value but not that two rows share it.
 */
export function blindIndexOf(indexKey: Buffer, column: string, value: string): string {
  return createHmac('sha256', indexKey)
    .update(`${column}\u0000${normaliseForIndex(value)}`, 'utf8')
    .digest('base64url');
}

/**
 * The master key boundary: wraps and unwraps data keys. `envMasterKeys` implements it with keys
 * from the environment; a KMS implementation (AWS KMS Encrypt/Decrypt with the context as
 * EncryptionContext, GCP KMS with it as additionalAuthenticatedData, Vault transit with it as
 * `context`) replaces this one object and nothing else.
 */
export interface MasterKeyProvider {
  /** The master key new wraps use. */
  readonly currentId: string;
  /** Every master key id this provider can unwrap with (current first). */
  readonly ids: readonly string[];
  /** `context` binds the wrapped key to its tenant and id (AAD): a wrapped key copied elsewhere fails. */
  wrap(material: Buffer, context: string): Promise<{ masterKeyId: string; wrapped: string }>;
  unwrap(wrapped: string, masterKeyId: string, context: string): Promise<Buffer>;
}

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A master key's id: derived from the key, so the same key has the same id in every process. */
export function masterKeyId(key: Buffer): string {
  return `mk_${createHash('sha256').update('hub-master-key-id\u0000').update(key).digest('hex').slice(0, 16)}`;
}

/** Parses a base64 (or base64url) 32-byte master key; throws MASTER_KEY_INVALID. */
export function parseMasterKey(name: string, text: string): MasterKey {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES)
    throw new EncryptionError(
      'MASTER_KEY_INVALID',
      `${name} must be base64 of ${KEY_BYTES} random bytes (openssl rand -base64 32), got ${key.length} bytes`,
    );
  return { id: masterKeyId(key), key };
}

/**
 * The development master key: for the embedded demo and tests only, refused in production
 * (config.ts). Derived from a fixed phrase so a demo store reopens with the same key.
 */
export const DEV_MASTER_KEY: MasterKey = (() => {
  const key = createHash('sha256').update('hub-dev-master-key-do-not-use-in-production').digest();
  return { id: masterKeyId(key), key };
})();

/**
 * Master keys from the environment: `current` wraps, `previous` (during a master key rotation)
 * still unwraps. Wrapped form: base64url(iv | tag | ciphertext).
 */
export function envMasterKeys(current: MasterKey, previous?: MasterKey): MasterKeyProvider {
  const byId = new Map<string, Buffer>([[current.id, current.key]]);
  if (previous && previous.id !== current.id) byId.set(previous.id, previous.key);
  return {
    currentId: current.id,
    ids: [...byId.keys()],
    async wrap(material, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(material), cipher.final()]);
      return { masterKeyId: current.id, wrapped: b64url(Buffer.concat([iv, cipher.getAuthTag(), body])) };
    },
    async unwrap(wrapped, id, context) {
      const master = byId.get(id);
      if (!master)
        throw new EncryptionError(
          'MASTER_KEY_UNKNOWN',
          `a data key is wrapped by master key ${id}, which this process was not given (HUB_MASTER_KEY, HUB_MASTER_KEY_PREVIOUS)`,
        );
      const bytes = Buffer.from(wrapped, 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', master, bytes.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        throw new EncryptionError(
          'MASTER_KEY_MISMATCH',
          `master key ${id} does not unwrap this data key: the master key is wrong or the wrapped key was altered`,
        );
      }
    },
  };
}
