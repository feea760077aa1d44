/**
 * API keys (partners' and integration accounts') in the customers store: the secret format, its hash, and the store operations
 * shared by the admin mutations and the `npm run apikey` CLI (one home, so both agree).
 */
import { randomBytes } from 'node:crypto';
import { appendAuditRaw, defaultAuditRedactor, type AuditActor } from '@hub/core/audit';
import { API_KEY_SECRET_PREFIX, hashApiKeySecret, newApiKeySecret, type ApiKeyGrant } from '@hub/core/apiKeys';
import { isPii } from '@hub/core/classification';
import { badUserInput, mapPrismaError, notFound } from '@hub/core/errors';
import { hubClassification } from '@hub/core/schemaFiles';
import { appendOutbox, type RawExecutor } from '@hub/core/sync/outbox';
import { checkDomainsClaim } from '@hub/core/viewer';
import { customerId, requiredText } from '@hub/core/validate';
import type { ApiKey, PrismaClient } from '@hub/store/customers';

export { API_KEY_SECRET_PREFIX, hashApiKeySecret, newApiKeySecret };

/** Characters of the secret kept for display (`hub_AbCd`): enough to tell keys apart, useless to an attacker. */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 8;

const APP_RE = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const FIELD_RE = /^[A-Z_][A-Za-z0-9_]*\.(?:\*|[_A-Za-z][A-Za-z0-9_]*)$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const MAX_CUSTOMERS = 1000;
const MAX_FIELDS = 500;

/** True for a string that can be a key hash (so lookups by junk never reach the database). */
export function isApiKeyHash(value: string): boolean {
  return HASH_RE.test(value);
}

/** Ids sort by creation time, so the admin list (ordered by id) reads oldest first. */
function newApiKeyId(): string {
  return `key_${Date.now().toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;
}

export interface ApiKeyInput {
  readonly name: string;
  readonly app?: string | null | undefined;
  readonly customerIds?: readonly string[] | null | undefined;
  readonly fields?: readonly string[] | null | undefined;
  readonly domains?: readonly string[] | null | undefined;
}

/** A key's checked grant: a partner's, or (`domains` not empty) an integration account's. */
export interface CheckedApiKeyInput {
  readonly name: string;
  readonly app: string | null;
  readonly customerIds: readonly string[];
  readonly fields: readonly string[];
  readonly domains: readonly string[];
}

/** Checks and normalises a new key's grant; errors name the input field. */
export function checkApiKeyInput(input: ApiKeyInput): CheckedApiKeyInput {
  const name = requiredText('input.name', input.name, 100);
  if (input.domains !== undefined && input.domains !== null) {
    // An integration account writes its domains tenant-wide and reads nothing: a partner grant beside
    // it would be a second role on one key, which keys do not carry.
    for (const field of ['app', 'customerIds', 'fields'] as const) {
      const value = input[field];
      if (value !== undefined && value !== null && value.length > 0)
        throw badUserInput(`input.${field}`, 'an integration key (domains) carries no partner grant');
    }
    const domains = checkDomainsClaim(
      ['integration'],
      input.domains.map((domain) => domain.trim()),
    );
    if (!domains.ok) throw badUserInput('input.domains', domains.reason);
    return { name, app: null, customerIds: [], fields: [], domains: domains.domains ?? [] };
  }
  const app = requiredText('input.app', input.app, 64);
  // The app names a manifest file at the gateway (gateway/persisted/<app>.json): no path characters.
  if (!APP_RE.test(app))
    throw badUserInput('input.app', 'must be lowercase letters, digits and `-`, e.g. partner-portal');
  const customerIds = [...new Set((input.customerIds ?? []).map((id) => customerId('input.customerIds', id.trim())))];
  if (customerIds.length === 0) throw badUserInput('input.customerIds', 'must name at least one customer');
  if (customerIds.length > MAX_CUSTOMERS)
    throw badUserInput('input.customerIds', `must name at most ${MAX_CUSTOMERS} customers`);
  const fields = [...new Set((input.fields ?? []).map((field) => field.trim()))];
  if (fields.length === 0) throw badUserInput('input.fields', 'must name at least one field');
  if (fields.length > MAX_FIELDS) throw badUserInput('input.fields', `must name at most ${MAX_FIELDS} fields`);
  const bad = fields.find((field) => !FIELD_RE.test(field));
  if (bad !== undefined) throw badUserInput('input.fields', `${JSON.stringify(bad)} is not "Type.field" or "Type.*"`);
  // Partners never read personal data (the shield refuses it whatever the grant says); a grant that
  // names it is refused here so that no admin believes otherwise.
  const personal = fields.filter((field) => isPii(hubClassification(), field));
  if (personal.length > 0)
    throw badUserInput('input.fields', `personal data (PII) is never granted to partners: ${personal.join(', ')}`);
  return { name, app, customerIds, fields, domains: [] };
}

/**
 * Creates a key in the tenant of `db` (a tenant-scoped client) and returns it with its secret.
 * The secret is not stored — only its hash — so this is the only time anyone sees it.
 */
export async function createApiKey(
  db: PrismaClient,
  tenantId: string,
  input: ApiKeyInput,
  createdBy: string,
  /** Who the audit trail names (the resolver passes the viewer; default: the creator as a user). */
  actor: AuditActor = { type: 'user', id: createdBy, role: null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const checked = checkApiKeyInput(input);
  const known = await db.customer.findMany({ where: { id: { in: [...checked.customerIds] } }, select: { id: true } });
  if (known.length !== checked.customerIds.length) {
    const found = new Set(known.map((row) => row.id));
    const missing = checked.customerIds.filter((id) => !found.has(id));
    throw badUserInput('input.customerIds', `unknown customers: ${missing.join(', ')}`);
  }
  const secret = newApiKeySecret();
  try {
    const apiKey = await db.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          id: newApiKeyId(),
          tenantId,
          name: checked.name,
          app: checked.app,
          keyHash: hashApiKeySecret(secret),
          prefix: secret.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH),
          customerIds: [...checked.customerIds],
          fields: [...checked.fields],
          domains: [...checked.domains],
          createdBy,
        },
      });
      await appendGrantEvent(tx, created, actor);
      return created;
    });
    return { apiKey, secret };
  } catch (error) {
    throw mapPrismaError(error, 'ApiKey');
  }
}

/** Revokes a key of the tenant; revoking again keeps the first revocation time. NOT_FOUND for other tenants' ids. */
export async function revokeApiKey(
  db: PrismaClient,
  id: string,
  actor: AuditActor = { type: 'system', id: 'revoke-api-key', role: null },
): Promise<ApiKey> {
  const existing = await db.apiKey.findUnique({ where: { id } });
  if (!existing) throw notFound('ApiKey', id);
  if (existing.revokedAt) return existing;
  return db.$transaction(async (tx) => {
    const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await appendGrantEvent(tx, revoked, actor);
    return revoked;
  });
}

/**
 * The grant event every domain's customer replica applies (packages/core/src/replicaFeed.ts): id,
 * tenant, customers, fields, revoked, and never the secret or its hash. Written through the shared
 * outbox helper in the key's own transaction: keys bypass the sync pipeline on purpose, because
 * the pipeline keeps payloads in idempotency and dead-letter records.
 */
async function appendGrantEvent(tx: RawExecutor, key: ApiKey, actor: AuditActor): Promise<string> {
  const revoked = key.revokedAt !== null;
  const id = await appendOutbox(tx, {
    tenantId: key.tenantId,
    customerId: null,
    type: revoked ? 'customers.api_key_revoked' : 'customers.api_key_granted',
    source: key.createdBy,
    payload: { id: key.id, tenantId: key.tenantId, customerIds: key.customerIds, fields: key.fields, revoked },
  });
  // The audit trail names the customers the grant reaches (so each one's trail shows who was given
  // access to it); the key's own fields are CONFIDENTIAL, so their values are markers.
  const redact = defaultAuditRedactor();
  const grant = { name: key.name, app: key.app, fields: key.fields, domains: key.domains };
  await appendAuditRaw(tx, key.tenantId, 'customers', [
    {
      action: revoked ? 'update' : 'create',
      actor,
      source: key.createdBy,
      operation: revoked ? 'revoke_api_key' : 'create_api_key',
      customerIds: key.customerIds,
      model: 'ApiKey',
      rowId: key.id,
      changes: revoked
        ? { revokedAt: [null, redact('ApiKey', 'revokedAt', key.revokedAt)] }
        : Object.fromEntries(
            Object.entries(grant).map(([field, value]) => [field, [null, redact('ApiKey', field, value)]]),
          ),
    },
  ]);
  return id;
}

/** What the gateway needs to turn a presented key into a partner viewer. */
/** The grant row `_apiKeyByHash` returns (its GraphQL type is ApiKeyGrant). */
export type ApiKeyGrantRow = ApiKeyGrant;

/**
 * The active (not revoked) key with this hash, in any tenant. Raw SQL on purpose: the gateway
 * does not know the tenant before the lookup, and every model operation of a request's client is
 * confined to a tenant (the system viewer has none). Only the `system` viewer may call this.
 */
export async function findActiveApiKeyByHash(db: PrismaClient, hash: string): Promise<ApiKeyGrantRow | null> {
  if (!isApiKeyHash(hash)) return null;
  const rows = await db.$queryRaw<ApiKeyGrantRow[]>`
    SELECT "id", "tenantId", "name", "app", "customerIds", "fields", coalesce("domains", '{}') AS "domains"
    FROM "ApiKey" WHERE "keyHash" = ${hash} AND "revokedAt" IS NULL LIMIT 1`;
  return rows[0] ?? null;
}

/**
 * Every tenant's customers and grants, for a new customer replica (`_replicaSnapshot`). Raw SQL for
 * the reason of findActiveApiKeyByHash: it reads across tenants; only service principals may call it.
 */
export async function replicaSnapshot(db: PrismaClient) {
  const [customers, grants] = await Promise.all([
    db.$queryRaw<{ tenantId: string; id: string; ownerId: string }[]>`
      SELECT "tenantId", "id", "ownerId" FROM "Customer" ORDER BY "tenantId", "id"`,
    db.$queryRaw<{ id: string; tenantId: string; customerIds: string[]; fields: string[]; revoked: boolean }[]>`
      SELECT "id", "tenantId", "customerIds", "fields", "revokedAt" IS NOT NULL AS "revoked" FROM "ApiKey" ORDER BY "id"`,
  ]);
  return { customers, grants };
}
