/**
 * Ed25519 keys of the hub's principals: the gateway (signs every viewer it hands to a subgraph) and
 * each subgraph's own service identity (signs the few calls one subgraph makes to another).
 *
 * Keys come from the environment as PEM (`-----BEGIN PRIVATE KEY-----`, `-----BEGIN PUBLIC KEY-----`)
 * or as base64 of the same DER (PKCS#8 for private keys, SPKI for public keys). Outside production
 * every principal has a deterministic development key pair, so `npm start` needs no set-up; a
 * production process refuses a development key and a missing one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { EnvReader } from './config.js';
import { DOMAINS } from './domains.js';

export interface SigningKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** The principal that signs viewers for subgraphs. Services are named after their domain. */
export const GATEWAY_PRINCIPAL = 'gateway';

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The development key pair of `principal` (`gateway` or a domain): derived from its name, public knowledge. */
export function devKeyPair(principal: string): SigningKeyPair {
  const seed = createHash('sha256').update(`customer-data-hub development key: ${principal}`).digest();
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function spki(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
}

let devPublicKeys: Set<string> | undefined;

/** Whether `key` (either half) belongs to one of the development key pairs. */
export function isDevKey(key: KeyObject): boolean {
  devPublicKeys ??= new Set([GATEWAY_PRINCIPAL, ...DOMAINS].map((name) => spki(devKeyPair(name).publicKey)));
  return devPublicKeys.has(spki(key));
}

/** Base64 DER of a key (PKCS#8 / SPKI), the form the `HUB_*_KEY` variables accept besides PEM. */
export function encodeKey(key: KeyObject): string {
  return key.type === 'private' ? key.export({ format: 'der', type: 'pkcs8' }).toString('base64') : spki(key);
}

/** A fresh Ed25519 key pair (tests, and `openssl genpkey -algorithm ed25519` for production). */
export function generateSigningKeyPair(): SigningKeyPair {
  return generateKeyPairSync('ed25519');
}

/** Parses a PEM or base64-DER Ed25519 key; throws with a reason fit for a start-up message. */
export function parseSigningKey(text: string, kind: 'private' | 'public'): KeyObject {
  const pem = text.includes('-----BEGIN');
  const der = pem ? undefined : Buffer.from(text.trim(), 'base64');
  let key: KeyObject;
  try {
    if (kind === 'private') {
      key = der ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : createPrivateKey(text);
    } else {
      key = der ? createPublicKey({ key: der, format: 'der', type: 'spki' }) : createPublicKey(text);
    }
  } catch {
    throw new Error(`is not a ${kind} key (PEM, or base64 of ${kind === 'private' ? 'PKCS#8' : 'SPKI'} DER)`);
  }
  if (key.type !== kind) throw new Error(`must be a ${kind} key`);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/**
 * Reads one key variable. Outside production a missing variable means the development key;
 * in production a missing key (when `required`) and a development key are start-up problems.
 */
export function readSigningKey(
  read: EnvReader,
  name: string,
  kind: 'private' | 'public',
  options: { devDefault: KeyObject; production: boolean; required: boolean },
): KeyObject | undefined {
  const raw = read.optional(name);
  if (raw === undefined) {
    if (!options.production) return options.devDefault;
    if (options.required) read.problems.push(`${name} is required in production (an Ed25519 ${kind} key)`);
    return undefined;
  }
  let key: KeyObject;
  try {
    key = parseSigningKey(raw, kind);
  } catch (error) {
    read.problems.push(`${name} ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (options.production && isDevKey(key)) {
    read.problems.push(`${name} is a development key; production refuses it`);
    return undefined;
  }
  return key;
}
