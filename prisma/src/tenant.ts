/**
 * Row-level tenant isolation as a Prisma query extension: every model operation of the returned
 * client is confined to one tenant. Resolvers and loaders only ever see such a client, so a
 * forgotten filter cannot leak another tenant's rows.
 */
import { LRUCache } from 'lru-cache';

/** Models keyed by the tenant id itself rather than by a `tenantId` column. */
const TENANT_KEY_BY_MODEL: Readonly<Record<string, string>> = { Tenant: 'id' };

const READ_OPS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
]);
const UPDATE_OPS = new Set(['update', 'updateMany', 'updateManyAndReturn']);
const DELETE_OPS = new Set(['delete', 'deleteMany']);
const CREATE_OPS = new Set(['create', 'createMany', 'createManyAndReturn']);

type Args = Record<string, unknown>;

/** What a Prisma `$allOperations` query extension is called with (also crypto/prisma.ts in @hub/core). */
export interface QueryParams {
  model: string;
  operation: string;
  args: unknown;
  query(args: unknown): Promise<unknown>;
}

/** The part of a generated PrismaClient a query extension relies on. */
export interface Extendable {
  $extends(extension: {
    name: string;
    query: { $allModels: { $allOperations(params: QueryParams): Promise<unknown> } };
  }): unknown;
}

function isRecord(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Adds the tenant condition with AND rather than overwriting a key, so a caller-supplied
 * `tenantId` or `id` for another tenant makes the query match nothing instead of being silently
 * redirected to the caller's own rows. Unique fields stay at the top level, so the result is
 * still a valid `WhereUniqueInput` for findUnique/update/delete/upsert.
 */
function scopeWhere(where: unknown, key: string, tenantId: string): Args {
  const base = isRecord(where) ? where : {};
  const existing = base.AND;
  const and = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
  return { ...base, AND: [...and, { [key]: tenantId }] };
}

function scopeCreateData(data: unknown, key: string, tenantId: string, model: string): Args {
  if (!isRecord(data)) throw new Error(`${model}: create data must be an object`);
  const given = data[key];
  if (given !== undefined && given !== tenantId) {
    throw new Error(`${model}: cannot create a row for another tenant`);
  }
  return { ...data, [key]: tenantId };
}

function checkUpdateData(data: unknown, key: string, tenantId: string, model: string): void {
  if (isRecord(data) && data[key] !== undefined && data[key] !== tenantId) {
    throw new Error(`${model}: cannot move a row to another tenant`);
  }
}

function scopeArgs(model: string, operation: string, rawArgs: unknown, tenantId: string): Args {
  const key = TENANT_KEY_BY_MODEL[model] ?? 'tenantId';
  const args: Args = isRecord(rawArgs) ? { ...rawArgs } : {};
  if (READ_OPS.has(operation) || DELETE_OPS.has(operation)) {
    args.where = scopeWhere(args.where, key, tenantId);
  } else if (UPDATE_OPS.has(operation)) {
    args.where = scopeWhere(args.where, key, tenantId);
    checkUpdateData(args.data, key, tenantId, model);
  } else if (operation === 'upsert') {
    args.where = scopeWhere(args.where, key, tenantId);
    args.create = scopeCreateData(args.create, key, tenantId, model);
    checkUpdateData(args.update, key, tenantId, model);
  } else if (CREATE_OPS.has(operation)) {
    args.data = Array.isArray(args.data)
      ? args.data.map((row) => scopeCreateData(row, key, tenantId, model))
      : scopeCreateData(args.data, key, tenantId, model);
  } else {
    // Fail closed: an operation we do not know how to scope must not run unscoped.
    throw new Error(`${model}.${operation} is not supported on a tenant-scoped client`);
  }
  return args;
}

/**
 * Returns a client whose every model operation is confined to `tenantId`: it is ANDed into
 * `where` (reads, counts, aggregates, updates, deletes, upserts) and forced into `data` (creates,
 * upsert's create). With a null tenant every model operation throws. Not covered: raw SQL
 * (`$queryRaw`/`$executeRaw`) and the data of nested writes — set `tenantId` on nested rows
 * yourself. The unscoped client is for migrations and seeding only.
 */
export function scopeToTenant<C>(client: C, tenantId: string | null): C {
  const extendable = client as unknown as Extendable;
  return extendable.$extends({
    name: 'hub-tenant-scope',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          if (tenantId === null || tenantId === '') {
            throw new Error(
              `${model}.${operation} refused: no tenant in scope (tenant-scoped store used without a tenant)`,
            );
          }
          return query(scopeArgs(model, operation, args, tenantId));
        },
      },
    },
  }) as C;
}

/** What a viewer may touch: its tenant, and (when not null) only these customers' rows. */
export interface RowScope {
  readonly tenantId: string | null;
  readonly customerIds: readonly string[] | null;
}

/**
 * The scopes of one request: reads (find, count, aggregate, groupBy) go through `read`; every
 * other operation — create, update, upsert, delete and their *Many forms — through `write`. A
 * viewer may read more rows than it may change (e.g. tenant-wide reads, writes only in its book).
 */
export interface ViewerScopes {
  readonly read: RowScope;
  readonly write: RowScope;
}

/**
 * Per model, the column holding the customer id (`id` for Customer itself), or `null` for a
 * tenant-wide model (campaigns, invoices numbering, tenants). A model missing here cannot be
 * touched by a customer-scoped viewer at all: a forgotten entry fails closed.
 */
export type CustomerKeys = Readonly<Record<string, string | null>>;

/** A write that names a customer the tenant does not have; the subgraph kit reports it as NOT_FOUND. */
export class UnknownCustomerError extends Error {
  readonly hubCode = 'NOT_FOUND';
  constructor(readonly customerIds: readonly string[]) {
    super(`Customer ${customerIds.map((id) => JSON.stringify(id)).join(', ')} was not found`);
    this.name = 'UnknownCustomerError';
  }
}

/**
 * Answers which of `ids` are customers of the viewer's tenant. Customers live in another store, so a
 * domain cannot use a foreign key; the subgraph kit asks the customers subgraph instead.
 */
export type CustomerVerifier = (ids: readonly string[]) => Promise<ReadonlySet<string>>;

/** Customer ids a write sets on rows of a customer-keyed model (creates, upserts, updates). */
function writtenCustomerIds(operation: string, args: Args, key: string): string[] {
  const sources: unknown[] = [];
  if (CREATE_OPS.has(operation)) sources.push(...(Array.isArray(args.data) ? args.data : [args.data]));
  if (UPDATE_OPS.has(operation)) sources.push(args.data);
  if (operation === 'upsert') sources.push(args.create, args.update);
  const ids = sources
    .map((row) => (isRecord(row) ? row[key] : undefined))
    .filter((id): id is string => typeof id === 'string');
  return [...new Set(ids)];
}

/** A read or write outside the viewer's rows; the subgraph kit reports it as FORBIDDEN. */
export class ScopeViolationError extends Error {
  readonly hubCode = 'FORBIDDEN';
  constructor(message: string) {
    super(message);
    this.name = 'ScopeViolationError';
  }
}

function checkCustomer(data: unknown, key: string, allowed: ReadonlySet<string>, model: string, what: string): void {
  if (!isRecord(data)) return;
  const value = data[key];
  if (value === undefined && what === 'update') return;
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new ScopeViolationError(`${model}: cannot ${what} a row of a customer outside your scope`);
  }
}

function scopeCustomerArgs(
  model: string,
  operation: string,
  args: Args,
  key: string,
  customerIds: readonly string[],
  allowed: ReadonlySet<string>,
): Args {
  const condition = { [key]: { in: [...customerIds] } };
  const out: Args = { ...args };
  if (READ_OPS.has(operation) || DELETE_OPS.has(operation) || UPDATE_OPS.has(operation) || operation === 'upsert') {
    const where = isRecord(out.where) ? out.where : {};
    const and = Array.isArray(where.AND) ? where.AND : where.AND === undefined ? [] : [where.AND];
    out.where = { ...where, AND: [...and, condition] };
  }
  if (UPDATE_OPS.has(operation)) checkCustomer(out.data, key, allowed, model, 'update');
  if (operation === 'upsert') {
    checkCustomer(out.create, key, allowed, model, 'create');
    checkCustomer(out.update, key, allowed, model, 'update');
  }
  if (CREATE_OPS.has(operation)) {
    const rows = Array.isArray(out.data) ? out.data : [out.data];
    for (const row of rows) checkCustomer(row, key, allowed, model, 'create');
  }
  return out;
}

/**
 * A viewer-scoped client: `scopeToTenant` plus, where the operation's scope (`read` for reads,
 * `write` for everything else) names customers, the customer condition ANDed into every model
 * operation (reads, counts, aggregates, updates, deletes, upserts) and checked on the data of every
 * write. Same limits as `scopeToTenant` (raw SQL, nested writes). Requests take theirs from a
 * `ViewerClients` cache (below); this builds one.
 */
export function scopeToViewer<C>(
  client: C,
  scopes: ViewerScopes,
  customerKeys: CustomerKeys,
  verifyCustomers?: CustomerVerifier,
): C {
  // Built once per client, not per operation: each side's customers with the set they are checked against.
  const side = ({ tenantId, customerIds }: ViewerScopes['read']) => ({
    tenantId,
    customers: customerIds === null ? null : { ids: customerIds, allowed: new Set(customerIds) },
  });
  const sides = { read: side(scopes.read), write: side(scopes.write) };
  const extendable = client as unknown as Extendable;
  return extendable.$extends({
    name: 'hub-viewer-scope',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const { tenantId, customers } = READ_OPS.has(operation) ? sides.read : sides.write;
          if (tenantId === null || tenantId === '') {
            throw new ScopeViolationError(`${model}.${operation} refused: no tenant in scope`);
          }
          let scoped = scopeArgs(model, operation, args, tenantId);
          if (customers !== null) {
            if (!(model in customerKeys)) {
              throw new ScopeViolationError(`${model}.${operation} refused: the model has no customer scope rule`);
            }
            const key = customerKeys[model];
            if (key) scoped = scopeCustomerArgs(model, operation, scoped, key, customers.ids, customers.allowed);
          }
          // Rows that refer to a customer must refer to one of this tenant (checked where it lives).
          const key = customerKeys[model];
          if (verifyCustomers && key && key !== 'id') {
            const ids = writtenCustomerIds(operation, scoped, key);
            if (ids.length > 0) {
              const known = await verifyCustomers(ids);
              const unknown = ids.filter((id) => !known.has(id));
              if (unknown.length > 0) throw new UnknownCustomerError(unknown);
            }
          }
          return query(scoped);
        },
      },
    },
  }) as C;
}

/** Scoped clients kept per store by `viewerClients`; beyond it the least recently used goes. */
export const VIEWER_CLIENTS_KEPT = 1_000;

/** The scoped client of each distinct viewer scope, built once (see `viewerClients`). */
export interface ViewerClients<C> {
  /**
   * The client confined to `scopes`: the same object again for the same scopes (equal tenants and,
   * per side, the very same frozen customer list or an equal list that is not frozen), never for others.
   */
  forScopes(scopes: ViewerScopes): C;
  /** How many scoped clients are kept (tests). */
  readonly size: number;
}

/**
 * Numbers naming frozen customer lists by identity: a list the caller froze cannot change, so its
 * number stands for its content. Never reused (the counter only grows), and weak: a list no
 * request and no kept client holds anymore goes with its number.
 */
const frozenLists = new WeakMap<readonly string[], number>();
let listsNamed = 0;

/** One side's part of the cache key: null (the whole tenant), a frozen list's number, or the content of any other. */
function listKey(customerIds: readonly string[] | null): null | number | readonly string[] {
  if (customerIds === null || !Object.isFrozen(customerIds)) return customerIds;
  let name = frozenLists.get(customerIds);
  if (name === undefined) frozenLists.set(customerIds, (name = ++listsNamed));
  return name;
}

/**
 * One scoped client per distinct viewer scope of a store, instead of one per request. Building one
 * (`$extends`) and warming its model delegates on first use cost a request 0.1–0.3 ms of CPU
 * (README "Subgraph CPU per call"); most requests share a scope (every tenant-wide viewer of a
 * tenant has the same), so most find theirs built.
 *
 * Safe by construction: a client is shared only by requests whose rules are identical. The key holds
 * both tenants and, per side, the customer list as a frozen list's number (that very list, which
 * cannot change, and the client is built over it) or, for a list the caller may still change, its
 * whole content (the client is then built over a frozen copy). The customer directory hands every
 * request of an unchanged book the same frozen list (packages/core/src/replica.ts), so a book of
 * thousands of ids is not serialized per request; an equal list in another object only misses (a
 * client of its own), never shares. The closure holds nothing of a request. The customer verifier is
 * the write tenant's (`verifierFor`, stateless per tenant); its tenant is in the key. Not
 * AsyncLocalStorage: on Node 20 an active store makes every promise pay async hooks, which cost more
 * than this cache saves (measured in the same probe).
 */
export function viewerClients<C>(
  client: C,
  customerKeys: CustomerKeys,
  verifierFor?: (tenantId: string | null) => CustomerVerifier,
  kept: number = VIEWER_CLIENTS_KEPT,
): ViewerClients<C> {
  // Boxed: lru-cache holds only non-null values, and C is any client type.
  const clients = new LRUCache<string, { readonly scoped: C }>({ max: kept });
  const own = ({ tenantId, customerIds }: RowScope): RowScope =>
    Object.freeze({
      tenantId,
      customerIds: customerIds === null || Object.isFrozen(customerIds) ? customerIds : Object.freeze([...customerIds]),
    });
  return {
    forScopes(scopes) {
      const { read, write } = scopes;
      const key = JSON.stringify([
        read.tenantId,
        listKey(read.customerIds),
        write.tenantId,
        listKey(write.customerIds),
      ]);
      let entry = clients.get(key);
      if (!entry) {
        // The key must stay the truth about the client even if the caller's objects change later.
        const scoped = scopeToViewer(
          client,
          Object.freeze({ read: own(read), write: own(write) }),
          customerKeys,
          verifierFor?.(write.tenantId),
        );
        clients.set(key, (entry = { scoped }));
      }
      return entry.scoped;
    },
    get size() {
      return clients.size;
    },
  };
}
