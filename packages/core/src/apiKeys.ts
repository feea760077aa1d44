/**
 * Partner API key secrets: their format and their hash, shared by the customers store (which keeps
 * only hashes) and the gateway (which hashes what a partner presents and looks the hash up).
 */
import { createHash, randomBytes } from 'node:crypto';

/** Every secret starts with this, so leaked keys are easy to recognise (secret scanners, logs). */
export const API_KEY_SECRET_PREFIX = 'hub_';

/** A new secret: 32 random bytes (256 bits), base64url, behind the `hub_` prefix. */
export function newApiKeySecret(): string {
  return `${API_KEY_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * sha256 hex of a secret. A plain fast hash is enough here, unlike for passwords: the secret is
 * 256 random bits, so there is no dictionary to try and brute force of the hash is hopeless; a slow
 * KDF would only add latency to every uncached partner request.
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * What an active key grants: the shape the customers store returns and the gateway turns into a
 * viewer — a partner (`app`, `customerIds`, `fields`) or, when `domains` is not empty, an
 * integration account writing those domains.
 */
export interface ApiKeyGrant {
  id: string;
  tenantId: string;
  name: string;
  app: string | null;
  customerIds: string[];
  fields: string[];
  domains: string[];
}
