/**
 * The attack matrix of tests/authz.e2e.ts: who asks (viewers), about whom (targets), by which path,
 * and what they must see. The role matrix is the issue-3 design written out again on purpose — not
 * imported from packages/core/src/authz.ts, which is what is under test — and the rows come from SQL
 * on the hub's own database (the oracle for "exactly these rows").
 */
import {
  decryptValue,
  envMasterKeys,
  keyIdOf,
  parseMasterKey,
  type DataKey,
  type MasterKeyProvider,
} from '@hub/core/crypto/envelope';
import { wrapContext } from '@hub/core/crypto/keyring';
import pg from 'pg';
import { expect } from 'vitest';
import type { Role } from '@hub/core/viewer';

export type Tenant = 'acme' | 'globex';
export const TENANTS: readonly Tenant[] = ['acme', 'globex'];
export const OTHER: Readonly<Record<Tenant, Tenant>> = { acme: 'globex', globex: 'acme' };

export type Domain = 'customers' | 'marketing' | 'sales' | 'product' | 'finance' | 'support' | 'health';
export const DOMAINS: readonly Domain[] = [
  'customers',
  'marketing',
  'sales',
  'product',
  'finance',
  'support',
  'health',
];

/** Who may read each domain (AUTHZ design, "read access per subgraph"). */
export const READERS: Readonly<Record<Domain, readonly Role[]>> = {
  customers: ['admin', 'cs_manager', 'sales_rep', 'marketing', 'finance', 'partner'],
  marketing: ['admin', 'cs_manager', 'marketing', 'partner'],
  sales: ['admin', 'cs_manager', 'sales_rep', 'partner'],
  product: ['admin', 'cs_manager', 'partner'],
  finance: ['admin', 'cs_manager', 'finance', 'partner'],
  support: ['admin', 'cs_manager', 'partner'],
  health: ['admin', 'cs_manager', 'sales_rep', 'partner'],
};

/** Who may call each domain's mutations (AUTHZ design, "write access"). */
export const WRITERS: Readonly<Record<Domain, readonly Role[]>> = {
  customers: ['admin', 'cs_manager'],
  marketing: ['admin', 'cs_manager', 'marketing'],
  sales: ['admin', 'cs_manager', 'sales_rep'],
  product: ['admin', 'cs_manager'],
  finance: ['admin', 'finance'],
  support: ['admin', 'cs_manager'],
  // Health is computed (issue 8): people do not write it; admins override it (overrideHealth).
  health: ['admin'],
};

/**
 * The integration role (issue 7), restated: a tenant's service account writing exactly the domains
 * its token names, tenant-wide within its own tenant, reading nothing of any domain (but the `id` of
 * the row a mutation it may call returns, and its sync answers). Beside other roles it adds writes
 * in its domains and never a read.
 */
export function integrationWrites(
  domains: readonly Domain[],
  domain: Domain,
  viewerTenant: Tenant,
  target: { tenant: Tenant },
): boolean {
  return domains.includes(domain) && target.tenant === viewerTenant;
}

/** A first-party viewer: a role with its book of business (the `book` claim). */
export interface ViewerSpec {
  readonly role: Role;
  readonly book: readonly string[];
  readonly sub: string;
}

export const VIEWERS: readonly ViewerSpec[] = [
  { role: 'admin', book: [], sub: 'admin1' },
  { role: 'cs_manager', book: ['u1'], sub: 'u1' },
  { role: 'sales_rep', book: ['u2'], sub: 'u2' },
  { role: 'marketing', book: [], sub: 'mkt1' },
  { role: 'finance', book: [], sub: 'fin1' },
];
export const TENANT_WIDE: readonly Role[] = ['admin', 'marketing', 'finance'];
/** Roles that see contact email/phone unmasked. */
export const PII_ROLES: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'finance'];

export const viewerKey = (tenant: Tenant, role: Role) => `${role}@${tenant}`;
export const reads = (role: Role, domain: Domain) => READERS[domain].includes(role);

/**
 * A customer to aim at, relative to the viewer's tenant: owned by u1 (the cs_manager's book), by u2
 * (the sales_rep's book), or owned by u1 in the OTHER tenant — same owner id, so a scope keyed by
 * owner alone would leak it.
 */
export type TargetKind = 'own:u1' | 'own:u2' | 'foreign:u1';
export const TARGET_KINDS: readonly TargetKind[] = ['own:u1', 'own:u2', 'foreign:u1'];

export function targetOf(viewerTenant: Tenant, kind: TargetKind): { tenant: Tenant; owner: string } {
  const [where, owner = 'u1'] = kind.split(':');
  return { tenant: where === 'own' ? viewerTenant : OTHER[viewerTenant], owner };
}

/** Whether `viewer` may see rows of customers owned by `owner` in `tenant` (ignoring the domain). */
export function seesCustomer(
  viewerTenant: Tenant,
  spec: ViewerSpec,
  target: { tenant: Tenant; owner: string },
): boolean {
  if (target.tenant !== viewerTenant) return false;
  return TENANT_WIDE.includes(spec.role) || spec.book.includes(target.owner);
}

/**
 * A viewer with several roles (every pair of the five human roles). Book roles in it share one book,
 * `[u1]`, so customers of u2 lie outside it even for a pair with the sales rep.
 */
export interface RolesSpec {
  readonly roles: readonly Role[];
  readonly book: readonly string[];
  readonly sub: string;
  /** `marketing+sales_rep`: names the case and keys the token. */
  readonly key: string;
}

const BOOKED: readonly Role[] = ['cs_manager', 'sales_rep'];
export const PAIRS: readonly RolesSpec[] = VIEWERS.flatMap((a, i) =>
  VIEWERS.slice(i + 1).map((b) => {
    const roles = [a.role, b.role];
    return { roles, book: roles.some((r) => BOOKED.includes(r)) ? ['u1'] : [], sub: 'pair1', key: roles.join('+') };
  }),
);

export type Action = 'read' | 'write';
const ACCESS: Readonly<Record<Action, Readonly<Record<Domain, readonly Role[]>>>> = { read: READERS, write: WRITERS };

/** Whether some role of `spec` may `action` in `domain` at all. */
export const mayAct = (spec: RolesSpec, domain: Domain, action: Action) =>
  spec.roles.some((role) => ACCESS[action][domain].includes(role));

/** The rows `spec` may `action` in `domain`: the union of the rows of its roles that may. */
export function rowsOf(spec: RolesSpec, domain: Domain, action: Action): 'tenant' | 'book' | 'none' {
  const able = spec.roles.filter((role) => ACCESS[action][domain].includes(role));
  if (able.some((role) => TENANT_WIDE.includes(role))) return 'tenant';
  return able.length > 0 ? 'book' : 'none';
}

/**
 * The union rule: some role of `spec` may `action` in `domain` AND that role's own rows hold the
 * target (tenant-wide roles: the tenant; book roles: the book) — never one role's rows with
 * another's access.
 */
export function mayOnRow(
  viewerTenant: Tenant,
  spec: RolesSpec,
  domain: Domain,
  action: Action,
  target: { tenant: Tenant; owner: string },
): boolean {
  if (target.tenant !== viewerTenant) return false;
  return spec.roles.some(
    (role) => ACCESS[action][domain].includes(role) && (TENANT_WIDE.includes(role) || spec.book.includes(target.owner)),
  );
}

/** Contact PII in the clear: some PII role of `spec` whose own rows hold the customer's owner. */
export const seesPii = (spec: RolesSpec, owner: string) =>
  spec.roles.some((role) => PII_ROLES.includes(role) && (TENANT_WIDE.includes(role) || spec.book.includes(owner)));

/** Independent statement of the mask: first letter, `***`, the domain. */
export function maskedEmail(email: string): string {
  const at = email.indexOf('@');
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}
export interface GqlResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}

export const codesOf = (response: GqlResponse) => (response.errors ?? []).map((error) => error.extensions?.['code']);

/** Value at `path` in a response, or undefined. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/**
 * Leaves that carry information: anything but null, false, 0, empty lists and the entity's own key
 * (`id`, `__typename`, echoed from the representation). A foreign entity must have none.
 */
export function informativeLeaves(value: unknown, path = ''): string[] {
  if (value === null || value === undefined || value === false || value === 0) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => informativeLeaves(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) =>
      key === 'id' || key === '__typename' ? [] : informativeLeaves(item, `${path}.${key}`),
    );
  }
  return [`${path}=${String(value)}`];
}

/** POSTs a raw GraphQL-over-HTTP body with the given headers. */
export async function postRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<GqlResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Partial<GqlResponse> = {};
  try {
    parsed = JSON.parse(text) as Partial<GqlResponse>;
  } catch {
    parsed = { errors: [{ message: `non-JSON body: ${text.slice(0, 200)}` }] };
  }
  return { ...parsed, status: response.status };
}

/** SQL over the hub's database: one Postgres schema per domain, tables named after the Prisma models. */
export class Oracle {
  private readonly pool: pg.Pool;
  private readonly master: MasterKeyProvider | undefined;
  private readonly keys = new Map<string, Promise<DataKey>>();

  /** `masterKey`: the hub's HUB_MASTER_KEY, to read encrypted contact columns as the graph serves them. */
  constructor(url: string, masterKey?: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.master = masterKey === undefined ? undefined : envMasterKeys(parseMasterKey('HUB_MASTER_KEY', masterKey));
  }

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const rows = (await this.pool.query(sql, params)).rows as Record<string, unknown>[];
    // Contact.email and Contact.phone are stored encrypted (README, Encryption at rest); the oracle
    // selects them under their own names.
    for (const row of rows)
      for (const field of ['email', 'phone'])
        if (typeof row[field] === 'string' && keyIdOf(row[field] as string) !== null)
          row[field] = await this.decrypt(`Contact.${field}`, row[field] as string);
    return rows as T[];
  }

  private async decrypt(column: string, value: string): Promise<string> {
    const id = keyIdOf(value) ?? '';
    let key = this.keys.get(id);
    if (!key) {
      const master = this.master;
      if (!master) throw new Error('Oracle: an encrypted value, and no master key given');
      key = this.pool
        .query<{ id: string; tenant_id: string; purpose: string; wrapped_key: string; master_key_id: string }>(
          `SELECT "id", "tenant_id", "purpose", "wrapped_key", "master_key_id" FROM customers."hub_data_key" WHERE "id" = $1`,
          [id],
        )
        .then(async ({ rows: [row] }) => {
          if (!row) throw new Error(`Oracle: no data key ${id}`);
          const material = await master.unwrap(row.wrapped_key, row.master_key_id, wrapContext(row));
          return { id, tenantId: row.tenant_id, key: material };
        });
      this.keys.set(id, key);
    }
    return decryptValue(await key, column, value);
  }

  async one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, params))[0];
  }

  /** Ids of the tenant's customers, all of them (`owners` null) or those owned by one of `owners`. */
  async customerIds(tenant: string, owners: readonly string[] | null): Promise<string[]> {
    const rows = await this.rows<{ id: string }>(
      `SELECT id FROM customers."Customer" WHERE "tenantId" = $1 AND ($2::text[] IS NULL OR "ownerId" = ANY($2)) ORDER BY id`,
      [tenant, owners],
    );
    return rows.map((row) => row.id);
  }

  /** First customer of `tenant` owned by `owner` that has a row in `table` (so lookups have something to find). */
  async customerWithRow(tenant: string, owner: string, table: string | null): Promise<string> {
    const row = await this.one<{ id: string }>(
      table === null
        ? `SELECT id FROM customers."Customer" c WHERE c."tenantId" = $1 AND c."ownerId" = $2 ORDER BY id LIMIT 1`
        : `SELECT c.id FROM customers."Customer" c WHERE c."tenantId" = $1 AND c."ownerId" = $2
             AND EXISTS (SELECT 1 FROM ${table} t WHERE t."tenantId" = c."tenantId" AND t."customerId" = c.id) ORDER BY c.id LIMIT 1`,
      [tenant, owner],
    );
    if (!row) throw new Error(`no ${tenant} customer of ${owner} with a row in ${table ?? 'customers'}`);
    return row.id;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** A refusal: at least one error, every error coded with one of `codes`, and no data at `field`. */
export function expectRefused(response: GqlResponse, codes: string[], field?: string): void {
  expect(response.errors?.length ?? 0, JSON.stringify(response)).toBeGreaterThan(0);
  for (const code of codesOf(response)) expect(codes, JSON.stringify(response.errors)).toContain(code);
  if (field) expect(at(response.data, field) ?? null).toBeNull();
}

/** `it.each` rows as [title, case]: `%s` prints the whole title (`$name` would cut it at 40 characters). */
export function named<T extends { name: string }>(cases: readonly T[]): [string, T][] {
  return cases.map((c) => [c.name, c]);
}
