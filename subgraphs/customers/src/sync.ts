/**
 * The customers domain's sync declaration: what `customer_record_sync` and `contact_record_sync`
 * payloads (and this subgraph's own mutations) write, through the one engine of packages/core/src/sync.
 *
 * Owners: none. The customers store is the system of record of its own records: no other domain's
 * source has authority over a customer's name, tier or contacts, so every field follows the default
 * rule (the latest source time wins; a tie keeps the stored value).
 *
 * API keys (createApiKey, revokeApiKey) are not declared here: they are credentials the hub issues,
 * not customer data a source synchronizes, and a key's secret must never reach the sync bookkeeping
 * (payloads are kept in idempotency and dead-letter records).
 */
import {
  defineSync,
  type AppliedEvent,
  type QualityCheck,
  type QualityRules,
  type RowChange,
  type SqlExecutor,
  type SyncKind,
} from '@hub/core/sync/types';
import { instant } from '@hub/core/sync/payload';
import { externalId, notNull, enumMember } from '@hub/core/validate';
import type {
  AssignOwnerInput,
  ContactRecordSyncInput,
  CreateContactInput,
  CreateCustomerInput,
  CustomerRecordSyncInput,
  UpdateContactInput,
  UpdateCustomerInput,
} from './generated/resolvers-types.js';
import * as check from './validation.js';

const TIERS = ['ENTERPRISE', 'MID_MARKET', 'SMB'] as const;
const LIFECYCLE = ['ONBOARDING', 'ACTIVE', 'AT_RISK', 'CHURNED'] as const;

type Instant = Date | string;
/**
 * A mutation's provenance: `sourceSystem` becomes the event's source (the engine writes the
 * `sourceSystem` column from it); `sourceUpdatedAt` is the source time, the arrival time when the
 * caller gives none (the engine writes the `sourceUpdatedAt` column from it).
 */
type Provenance = { sourceSystem?: string | null; sourceUpdatedAt: Instant };

/** What the mutations hand the engine: their input, the row id they chose, the source time. */
export type CreateCustomerPayload = Omit<CreateCustomerInput, 'idempotencyKey' | 'sourceUpdatedAt'> &
  Provenance & { id: string };
export type UpdateCustomerPayload = Omit<UpdateCustomerInput, 'idempotencyKey' | 'sourceUpdatedAt'> &
  Provenance & { id: string };
export type CreateContactPayload = Omit<CreateContactInput, 'idempotencyKey' | 'sourceUpdatedAt'> &
  Provenance & { id: string };
export type UpdateContactPayload = Omit<UpdateContactInput, 'idempotencyKey' | 'sourceUpdatedAt'> &
  Provenance & { id: string };
export type AssignOwnerPayload = Omit<AssignOwnerInput, 'idempotencyKey'> & { sourceUpdatedAt: Instant };

/** Drops undefined values: a field the payload leaves out keeps its stored value. */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

const mutationTime = (payload: { sourceUpdatedAt: Instant }) =>
  instant('input.sourceUpdatedAt', payload.sourceUpdatedAt);

/** What every mutation kind here shares: not offered to the sync API, timed by `input.sourceUpdatedAt`. */
const MUTATION_KIND = {
  mutationOnly: true,
  sourceTime: mutationTime,
  sourceTimeField: 'input.sourceUpdatedAt',
} as const;

/** The source name is checked here so a too-long one is refused naming the input field, as before. */
function checkSource(payload: { sourceSystem?: string | null }): void {
  check.optionalText('input.sourceSystem', payload.sourceSystem, 100);
}

/** The CSM assignment that puts a customer in its owner's book (kept equal to `Customer.ownerId`). */
function csmAssignment(customerId: string, ownerId: string, at: Date): RowChange {
  return { model: 'OwnerAssignment', key: { customerId, role: 'CSM' }, fields: { ownerId, assignedAt: at } };
}

/** Customer facts for consistency checks: the stored web domain of each customer the batch names. */
async function customerDomains(db: SqlExecutor, tenantId: string, customerIds: readonly string[]) {
  const rows = await db.query<{ id: string; domain: string | null }>(
    'SELECT id, domain FROM "Customer" WHERE "tenantId" = $1 AND id = ANY($2::text[])',
    tenantId,
    [...new Set(customerIds)],
  );
  return new Map(rows.map((row) => [row.id, row.domain]));
}

/** A contact's email should belong to its customer's web domain (or a subdomain) when the customer has one. */
function emailMatchesDomain(email: string | null | undefined, domain: string | null | undefined): QualityCheck[] {
  if (!email || !domain) return [];
  const host = email.toLowerCase().split('@')[1] ?? '';
  return [{ field: 'email', ok: host === domain || host.endsWith(`.${domain}`) }];
}

/** Enterprise accounts with a handful of people, or SMBs with thousands, are likely mis-typed. */
function tierMatchesSize(tier: string | null | undefined, employees: number | null | undefined): QualityCheck[] {
  if (!tier || employees === null || employees === undefined) return [];
  const upper = tier.toUpperCase();
  const ok = upper === 'ENTERPRISE' ? employees >= 100 : upper === 'SMB' ? employees <= 5000 : true;
  return [{ field: 'employeeCount', ok }];
}

/**
 * Contacts made primary in this batch: each customer keeps the last of them as its one primary
 * contact, and its other contacts stop being primary (one statement for the whole batch). The
 * `afterApply` of every kind that may write a primary contact. A contact whose `isPrimary` lost its
 * conflict is not primary in the store, so it demotes nobody.
 */
async function demoteOtherPrimaries(
  db: SqlExecutor,
  tenantId: string,
  applied: readonly AppliedEvent<{ isPrimary?: boolean | null }>[],
): Promise<void> {
  const contactIds = primaryContactIds(applied);
  if (contactIds.length === 0) return;
  await db.query(
    `WITH keep AS (
       SELECT DISTINCT ON (w."customerId") w.id, w."customerId"
       FROM unnest($2::text[]) WITH ORDINALITY AS k(id, n)
       JOIN "Contact" w ON w."tenantId" = $1 AND w.id = k.id AND w."isPrimary"
       ORDER BY w."customerId", k.n DESC
     )
     UPDATE "Contact" c SET "isPrimary" = false, "updatedAt" = now()
     FROM keep
     WHERE c."tenantId" = $1 AND c."customerId" = keep."customerId" AND c.id <> keep.id AND c."isPrimary"`,
    tenantId,
    [...contactIds],
  );
}

function primaryContactIds(applied: readonly AppliedEvent<{ isPrimary?: boolean | null }>[]): string[] {
  return applied
    .filter(({ payload }) => payload.isPrimary === true)
    .flatMap(({ rows }) => rows.filter((row) => row.model === 'Contact').map((row) => row.id));
}

const CUSTOMER_OPTIONAL = ['domain', 'industry', 'tier', 'lifecycleStatus', 'country', 'employeeCount'];
const CONTACT_OPTIONAL = ['phone', 'title', 'isPrimary'];

export const customerRecordSync: SyncKind<CustomerRecordSyncInput> = {
  name: 'customer_record_sync',
  sourceTime: (payload) => instant('syncTimestamp', payload.syncTimestamp),
  map(payload) {
    const id = check.customerId('customerId', payload.customerId);
    const ownerId = check.requiredText('ownerId', payload.ownerId, 100);
    const at = instant('syncTimestamp', payload.syncTimestamp);
    const customer = defined({
      name: check.requiredText('name', payload.name, 200),
      domain: check.domain('domain', payload.domain),
      industry: check.optionalText('industry', payload.industry, 100),
      tier: payload.tier === undefined || payload.tier === null ? undefined : enumMember('tier', payload.tier, TIERS),
      lifecycleStatus:
        payload.lifecycleStatus === undefined || payload.lifecycleStatus === null
          ? undefined
          : enumMember('lifecycleStatus', payload.lifecycleStatus, LIFECYCLE),
      country: check.country('country', payload.country),
      employeeCount: check.employeeCount('employeeCount', payload.employeeCount),
      ownerId,
    });
    return [{ model: 'Customer', key: { id }, fields: customer }, csmAssignment(id, ownerId, at)];
  },
  quality: {
    required: ['customerId', 'name', 'ownerId', 'syncTimestamp'],
    optional: CUSTOMER_OPTIONAL,
    validity: (payload) => tierMatchesSize(payload.tier, payload.employeeCount),
  },
};

/** A contact's email must match its customer's domain, for the sync record and createContact alike. */
const contactConsistency: Pick<
  QualityRules<{ customerId: string; email?: string | null }>,
  'loadFacts' | 'consistency'
> = {
  loadFacts: (db, tenantId, payloads) =>
    customerDomains(
      db,
      tenantId,
      payloads.map((p) => p.customerId),
    ),
  consistency: (payload, facts) =>
    emailMatchesDomain(payload.email, (facts as Map<string, string | null>).get(payload.customerId)),
};

export const contactRecordSync: SyncKind<ContactRecordSyncInput> = {
  name: 'contact_record_sync',
  sourceTime: (payload) => instant('syncTimestamp', payload.syncTimestamp),
  map(payload) {
    const id = externalId('contactId', payload.contactId);
    const fields = defined({
      customerId: check.customerId('customerId', payload.customerId),
      firstName: check.requiredText('firstName', payload.firstName, 100),
      lastName: check.requiredText('lastName', payload.lastName, 100),
      email: check.email('email', payload.email ?? ''),
      phone: check.phone('phone', payload.phone),
      title: check.optionalText('title', payload.title, 200),
      isPrimary: payload.isPrimary ?? undefined,
    });
    return [{ model: 'Contact', key: { id }, fields }];
  },
  quality: {
    required: ['customerId', 'contactId', 'firstName', 'lastName', 'email', 'syncTimestamp'],
    optional: CONTACT_OPTIONAL,
    ...contactConsistency,
  },
  afterApply: demoteOtherPrimaries,
};

/** createCustomer: a new customer with its CSM assignment; an id given again is CONFLICT unless its key replays. */
export const createCustomer: SyncKind<CreateCustomerPayload> = {
  name: 'create_customer',
  ...MUTATION_KIND,
  mode: 'insert',
  map(payload) {
    checkSource(payload);
    const ownerId = check.requiredText('input.ownerId', payload.ownerId, 100);
    const customer = {
      name: check.requiredText('input.name', payload.name, 200),
      domain: check.domain('input.domain', payload.domain) ?? null,
      industry: check.optionalText('input.industry', payload.industry, 100) ?? null,
      tier: payload.tier ?? 'SMB',
      lifecycleStatus: payload.lifecycleStatus ?? 'ONBOARDING',
      country: check.country('input.country', payload.country) ?? null,
      employeeCount: check.employeeCount('input.employeeCount', payload.employeeCount) ?? null,
      ownerId,
    };
    const id = check.customerId('input.id', payload.id);
    return [{ model: 'Customer', key: { id }, fields: customer }, csmAssignment(id, ownerId, mutationTime(payload))];
  },
  quality: { required: ['name', 'ownerId'], optional: CUSTOMER_OPTIONAL },
};

/** updateCustomer: changes the given fields of an existing customer (NOT_FOUND otherwise). */
export const updateCustomer: SyncKind<UpdateCustomerPayload> = {
  name: 'update_customer',
  ...MUTATION_KIND,
  mode: 'update',
  map(payload) {
    checkSource(payload);
    const fields = defined({
      name: payload.name === undefined ? undefined : check.requiredText('input.name', payload.name, 200),
      domain: check.domain('input.domain', payload.domain),
      industry: check.optionalText('input.industry', payload.industry, 100),
      tier: notNull('input.tier', payload.tier),
      lifecycleStatus: notNull('input.lifecycleStatus', payload.lifecycleStatus),
      country: check.country('input.country', payload.country),
      employeeCount: check.employeeCount('input.employeeCount', payload.employeeCount),
    });
    return [{ model: 'Customer', key: { id: payload.id }, fields }];
  },
  quality: { required: [], optional: ['name', ...CUSTOMER_OPTIONAL] },
};

/** createContact: a new contact of an existing customer; a primary one demotes the customer's other contacts. */
export const createContact: SyncKind<CreateContactPayload> = {
  name: 'create_contact',
  ...MUTATION_KIND,
  mode: 'insert',
  map(payload) {
    checkSource(payload);
    const fields = {
      customerId: check.customerId('input.customerId', payload.customerId),
      firstName: check.requiredText('input.firstName', payload.firstName, 100),
      lastName: check.requiredText('input.lastName', payload.lastName, 100),
      email: check.email('input.email', payload.email),
      phone: check.phone('input.phone', payload.phone) ?? null,
      title: check.optionalText('input.title', payload.title, 200) ?? null,
      isPrimary: payload.isPrimary ?? false,
    };
    return [{ model: 'Contact', key: { id: payload.id }, fields }];
  },
  quality: {
    required: ['customerId', 'firstName', 'lastName', 'email'],
    optional: CONTACT_OPTIONAL,
    ...contactConsistency,
  },
  afterApply: demoteOtherPrimaries,
};

/** updateContact: changes the given fields of an existing contact (NOT_FOUND otherwise). */
export const updateContact: SyncKind<UpdateContactPayload> = {
  name: 'update_contact',
  ...MUTATION_KIND,
  mode: 'update',
  map(payload) {
    checkSource(payload);
    const fields = defined({
      firstName:
        payload.firstName === undefined ? undefined : check.requiredText('input.firstName', payload.firstName, 100),
      lastName:
        payload.lastName === undefined ? undefined : check.requiredText('input.lastName', payload.lastName, 100),
      email:
        payload.email === undefined
          ? undefined
          : check.email('input.email', check.notNull('input.email', payload.email) ?? ''),
      phone: check.phone('input.phone', payload.phone),
      title: check.optionalText('input.title', payload.title, 200),
      isPrimary: check.notNull('input.isPrimary', payload.isPrimary),
    });
    return [{ model: 'Contact', key: { id: payload.id }, fields }];
  },
  quality: { required: [], optional: ['firstName', 'lastName', 'email', ...CONTACT_OPTIONAL] },
  afterApply: demoteOtherPrimaries,
};

/** assignOwner: one owner per role; assigning the CSM also moves the customer into that owner's book. */
export const assignOwner: SyncKind<AssignOwnerPayload> = {
  name: 'assign_owner',
  ...MUTATION_KIND,
  map(payload) {
    const customerId = check.customerId('input.customerId', payload.customerId);
    const ownerId = check.requiredText('input.ownerId', payload.ownerId, 100);
    const at = mutationTime(payload);
    const assignment: RowChange = {
      model: 'OwnerAssignment',
      key: { customerId, role: payload.role },
      fields: { ownerId, assignedAt: at },
    };
    if (payload.role !== 'CSM') return [assignment];
    // The CSM's book of business holds the customer: Customer.ownerId moves in the same event.
    return [{ model: 'Customer', key: { id: customerId }, fields: { ownerId } }, assignment];
  },
  quality: { required: ['customerId', 'ownerId', 'role'], optional: [] },
};

export const sync = defineSync({
  domain: 'customers',
  kinds: [
    customerRecordSync,
    contactRecordSync,
    createCustomer,
    updateCustomer,
    createContact,
    updateContact,
    assignOwner,
  ] as SyncKind<never>[],
  // Declared parents first: a batch writes customers before the contacts and assignments that refer to them.
  models: {
    Customer: { key: ['id'] },
    Contact: { key: ['id'] },
    OwnerAssignment: { key: ['customerId', 'role'] },
  },
});
