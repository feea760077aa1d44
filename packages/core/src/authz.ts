/**
 * Authorization: the one role matrix of the hub, and the graphql-shield rules and field masks
 * every subgraph gets from it (the subgraph kit applies them; no subgraph writes its own).
 *
 * - which roles may read / write each domain's subgraph;
 * - which rows each role brings: the viewer's tenant always; tenant-wide roles every customer of it,
 *   book roles their book, partners their grant's customers (`customerIds`, which each subgraph resolves
 *   from its local customer replica: packages/core/src/replica.ts);
 * - partners read only the fields their grant names;
 * - fields classified PII (`@classification`, classification.ts) are masked unless a PII role covers
 *   the row, and never reach a partner, whatever its grant names; each unmasked value let through is
 *   noted in the request's `piiReads` (the audit trail's PII reads, audit.ts);
 * - `integration` (a tenant's service account) counts only in the domains its token names
 *   (`viewer.domains`, see `rolesIn`): there it writes tenant-wide and reads nothing but its answers.
 *
 * Role unions never widen rows: for every domain, field and row, a viewer may do what at least one
 * of its roles allows, within that role's own rows and masks. So the data layer's scope is per
 * (domain, action) — the union of the rows of the roles that may do it (`rowScope`) — and a field or
 * an unmasked value is allowed on a row only when a role that allows it covers that row (`coversRow`).
 * Fail closed: a domain missing from the matrix, a model missing from a subgraph's customer keys,
 * a customer-scoped role without resolved customers, or a row whose customer cannot be told, all
 * yield nothing.
 */
import {
  getOperationAST,
  parse,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { applyMiddleware, type IMiddleware } from 'graphql-middleware';
import { rule, shield, type IRules } from 'graphql-shield';
import type { GraphQLResolveInfo } from 'graphql';
import type { RowScope, ViewerScopes } from '@hub/store';
import { MASKS, assertClassified, classifySchema, isPii, type Classification } from './classification.js';
import type { Domain } from './domains.js';
import { forbidden } from './errors.js';
import { hasRole, type Role, type ScopedViewer, type Viewer } from './viewer.js';

const EVERY_READER: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'marketing', 'finance', 'partner'];

/** Roles that may read each subgraph. */
export const READ_ACCESS: Readonly<Record<Domain, readonly Role[]>> = {
  customers: EVERY_READER,
  marketing: ['admin', 'cs_manager', 'marketing', 'partner'],
  sales: ['admin', 'cs_manager', 'sales_rep', 'partner'],
  product: ['admin', 'cs_manager', 'partner'],
  finance: ['admin', 'cs_manager', 'finance', 'partner'],
  support: ['admin', 'cs_manager', 'partner'],
  health: ['admin', 'cs_manager', 'sales_rep', 'partner'],
};

/**
 * Roles that may call each subgraph's mutations (row scope still applies). Partners never write.
 * `integration` is listed everywhere but counts only in the domains its token names (`rolesIn`).
 */
export const WRITE_ACCESS: Readonly<Record<Domain, readonly Role[]>> = {
  customers: ['admin', 'cs_manager', 'integration'],
  marketing: ['admin', 'cs_manager', 'marketing', 'integration'],
  sales: ['admin', 'cs_manager', 'sales_rep', 'integration'],
  product: ['admin', 'cs_manager', 'integration'],
  finance: ['admin', 'finance', 'integration'],
  support: ['admin', 'cs_manager', 'integration'],
  // Health is computed from the other domains (issue 8): people do not type it in. Integration
  // accounts may still send an external CS platform's score as input (the engine's values outrank it),
  // admins override it (overrideHealth, admin-only in the health subgraph's permissions).
  health: ['admin', 'integration'],
};

/**
 * Roles whose row scope is the whole tenant; every other role sees only its `customerIds`.
 * `service` (a subgraph's own call) reaches only the fields its callee's overrides grant it.
 */
export const TENANT_WIDE_ROLES: readonly Role[] = ['admin', 'marketing', 'finance', 'integration', 'system', 'service'];

/** Roles whose rows are their book of business: each subgraph resolves the book into `customerIds` (replica.ts). */
export const BOOK_ROLES: readonly Role[] = ['cs_manager', 'sales_rep'];

/** Roles that see contact PII unmasked, on the contacts of their own rows. */
export const PII_ROLES: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'finance'];

export { maskEmail, maskPhone } from './classification.js';

export type Action = 'read' | 'write';

/**
 * The viewer's roles that count in `domain`: all of them, except `integration` outside the domains
 * its token names (a viewer without `domains` has it nowhere: fail closed). Every role check of this
 * module goes through here, so no rule can forget the domain list.
 */
export function rolesIn(viewer: Viewer, domain: Domain): readonly Role[] {
  if (!viewer.roles.includes('integration') || viewer.domains?.includes(domain)) return viewer.roles;
  return viewer.roles.filter((role) => role !== 'integration');
}

const pascal = (domain: Domain) => `${domain.slice(0, 1).toUpperCase()}${domain.slice(1)}`;

/** Who may run the sync mutations (`sync<Domain>`): admins and the domain's integration accounts. */
export const SYNC_WRITERS: readonly Role[] = ['admin', 'integration'];

/**
 * Sync types a `sync<Domain>` answer is made of: bookkeeping about the caller's own events
 * (outcome, key, reason, field, conflict rule, score), no stored customer value.
 */
const SYNC_ANSWER_TYPES = [
  'SyncBatchResult',
  'SyncEventResult',
  'SyncOutcomeCounts',
  'SyncFieldConflict',
  'SyncQualityScore',
];
/**
 * Sync bookkeeping of the tenant (stored values of conflicts, payloads of dead letters, quality,
 * jobs, status): for admins and the integration team of the domain — an integration account reads
 * it in the domains its credential names (`rolesIn`: each subgraph answers only its own domain),
 * always of its own tenant (the resolvers read the viewer's tenant only).
 */
const SYNC_TEAM_TYPES = [
  'SyncDomains',
  'DomainSync',
  'SyncConflict',
  'SyncConflictEdge',
  'SyncConflictConnection',
  'SyncDeadLetter',
  'SyncDeadLetterEdge',
  'SyncDeadLetterConnection',
  'DataQualityReport',
  'QualityDimension',
  // Jobs and sync status (issue 8): the tenant's runs, lag and failures.
  'BatchJob',
  'JobRun',
  'JobRunEdge',
  'JobRunConnection',
  'ConsumerLag',
  'DeadLetterCounts',
  'SyncError',
  'SyncStatus',
  'IntegrationHealthReport',
  'IntegrationHealthReportEdge',
  'IntegrationHealthReportConnection',
];
/** Who reads SYNC_TEAM_TYPES and replays the domain's sync dead letters. */
export const SYNC_TEAM: readonly Role[] = ['admin', 'integration'];
/**
 * Governance and cross-domain bookkeeping: admins only. The audit trail names every actor and read;
 * the consumers' event dead letters hold other domains' events; anomalies, reconciliation and
 * erasure reports are the tenant's, not one integration's.
 */
const SYNC_ADMIN_TYPES = [
  // Anomalies (anomaly.ts) the hourly scan found.
  'SyncAnomaly',
  'SyncAnomalyEdge',
  'SyncAnomalyConnection',
  // The audit trail (audit.ts): who changed or read what of a customer.
  'AuditEntry',
  'AuditEntryEdge',
  'AuditEntryConnection',
  // Reconciliation reports (reconcile.ts).
  'Reconciliation',
  'ReconciliationCheck',
  'ReconciliationDifference',
  // Right to erasure (erasure.ts): what each domain did with an erased customer.
  'CustomerErasure',
  'DomainErasure',
  'ErasureCount',
];
/** Fields of `DomainSync` (otherwise SYNC_TEAM's) that lead to admin-only bookkeeping. */
const DOMAIN_SYNC_ADMIN_FIELDS = ['auditTrail', 'eventDeadLetters', 'anomalies', 'reconciliation'];

/**
 * The sync API's rules (docs/design/sync-pipeline.md, contract of issue 7), as overrides every subgraph
 * gets under its own: `sync<Domain>` for SYNC_WRITERS; `Query.sync`, the domain's dead letters,
 * conflicts, quality, jobs and status, and replaying its dead letters for SYNC_TEAM; overriding a
 * conflict, running a job, and the governance bookkeeping for admins only. Coordinates a subgraph's
 * schema does not have are ignored.
 */
export function syncPermissions(domain: Domain): PermissionOverrides {
  const name = pascal(domain);
  return {
    [`Mutation.sync${name}`]: SYNC_WRITERS,
    [`Mutation.resolve${name}Conflict`]: ['admin'],
    [`Mutation.replay${name}DeadLetter`]: SYNC_TEAM,
    [`Mutation.run${name}Job`]: ['admin'],
    'Query.sync': SYNC_TEAM,
    ...Object.fromEntries(SYNC_ANSWER_TYPES.map((type) => [`${type}.*`, SYNC_WRITERS])),
    ...Object.fromEntries(SYNC_TEAM_TYPES.map((type) => [`${type}.*`, SYNC_TEAM])),
    ...Object.fromEntries(SYNC_ADMIN_TYPES.map((type) => [`${type}.*`, ['admin'] as const])),
    ...Object.fromEntries(DOMAIN_SYNC_ADMIN_FIELDS.map((field) => [`DomainSync.${field}`, ['admin'] as const])),
  };
}

/** Admin types of the event consumers' bookkeeping (dead letters, replay reports). */
const EVENT_ADMIN_TYPES = [
  'EventDeadLetter',
  'EventDeadLetterEdge',
  'EventDeadLetterConnection',
  'EventDeadLetterReplay',
  'EventReplayReport',
];

/**
 * Change-event rules (docs/design/change-events.md): `_events` (a subgraph's stream, read by the
 * other subgraphs' consumers on the embedded bus, and by the gateway's subscription fan-out as its
 * own `system` principal, issue 9) and its types for those principals only; the consumers' dead
 * letters and replays for admins only.
 */
export function eventPermissions(domain: Domain): PermissionOverrides {
  const name = pascal(domain);
  return {
    'Query._events': ['service', 'system'],
    'HubEvent.*': ['service', 'system'],
    'HubEventPage.*': ['service', 'system'],
    [`Mutation.replay${name}EventDeadLetter`]: ['admin'],
    [`Mutation.replay${name}Events`]: ['admin'],
    ...Object.fromEntries(EVENT_ADMIN_TYPES.map((type) => [`${type}.*`, ['admin'] as const])),
  };
}

/**
 * Roles that may `action` in `domain`, as far as rows go. `system` (the gateway) and `service` (another
 * subgraph) read every domain tenant-wide: the shield lets them reach only the @inaccessible internal
 * fields granted to them, and those need the tenant's rows.
 */
function rolesFor(domain: Domain, action: Action): readonly Role[] {
  const roles = (action === 'read' ? READ_ACCESS : WRITE_ACCESS)[domain] ?? [];
  return action === 'read' && roles.length > 0 ? [...roles, 'system', 'service'] : roles;
}

const NO_CUSTOMERS: readonly string[] = Object.freeze([]);

/**
 * A frozen list's sorted, deduplicated form, worked out once per list rather than per request: the
 * directory hands a book's requests one frozen list (replica.ts), and the scopes keep that same
 * object (itself when already in order), which finds the request's scoped client by identity
 * (@hub/store tenant.ts `viewerClients`). A list that is not frozen may still change: sorted afresh.
 */
const orderedLists = new WeakMap<readonly string[], readonly string[]>();
function ordered(ids: readonly string[]): readonly string[] {
  if (!Object.isFrozen(ids)) return [...new Set(ids)].sort();
  let list = orderedLists.get(ids);
  if (!list) {
    const inOrder = ids.every((id, i) => i === 0 || (ids[i - 1] as string) < id);
    orderedLists.set(ids, (list = inOrder ? ids : Object.freeze([...new Set(ids)].sort())));
  }
  return list;
}

/**
 * The union of the rows the viewer's roles among `roles` bring in `domain`: a tenant-wide role
 * brings the whole tenant; every other role the viewer's customers; none of them, no customer at all.
 */
function unionScope(viewer: ScopedViewer, domain: Domain, roles: readonly Role[]): RowScope {
  let customers = false;
  for (const role of rolesIn(viewer, domain)) {
    if (!roles.includes(role)) continue;
    if (TENANT_WIDE_ROLES.includes(role)) return { tenantId: viewer.tenantId, customerIds: null };
    customers = true;
  }
  return {
    tenantId: viewer.tenantId,
    customerIds: customers ? ordered(viewer.customerIds ?? NO_CUSTOMERS) : NO_CUSTOMERS,
  };
}

/** The rows a viewer may `action` in `domain`: the union of the rows of its roles that may. */
export function rowScope(viewer: ScopedViewer, domain: Domain, action: Action): RowScope {
  return unionScope(viewer, domain, rolesFor(domain, action));
}

/**
 * The scopes of one request, for `scopeToViewer`. A mutation reads with its write scope too: its own look-ups and read-backs (find the row, then
 * update it; return the written row) must not see or echo rows it may not write.
 */
export function requestScopes(viewer: ScopedViewer, domain: Domain, mutation: boolean): ViewerScopes {
  const write = rowScope(viewer, domain, 'write');
  return { read: mutation ? write : rowScope(viewer, domain, 'read'), write };
}

/**
 * Whether a subgraph request body runs a mutation. Parsed again (Apollo Server parses after the
 * context is built) unless the text cannot hold one: anything unparsable or ambiguous counts as a
 * mutation, the narrower scope.
 */
export function isMutationRequest(body: unknown): boolean {
  const { query, operationName } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof query !== 'string') return true;
  // No `mutation` keyword anywhere: no mutation operation (skips a parse on nearly every fetch).
  if (!query.includes('mutation')) return false;
  try {
    const operation = getOperationAST(parse(query), typeof operationName === 'string' ? operationName : undefined);
    return operation?.operation !== 'query';
  } catch {
    return true;
  }
}

// Field rules ask per row; a viewer (frozen, one per request) keeps its customers as a set.
const customerSets = new WeakMap<ScopedViewer, ReadonlySet<string>>();

/** Whether one of `roles` (roles of the viewer) covers the row of `customerId` (undefined: unknown). */
export function coversRow(viewer: ScopedViewer, roles: readonly Role[], customerId: string | undefined): boolean {
  return roles.some((role) => {
    if (!viewer.roles.includes(role)) return false;
    if (TENANT_WIDE_ROLES.includes(role)) return true;
    if (customerId === undefined) return false;
    let customers = customerSets.get(viewer);
    if (!customers) customerSets.set(viewer, (customers = new Set(viewer.customerIds ?? [])));
    return customers.has(customerId);
  });
}

/** The customer a resolved object belongs to: a Customer's id, another row's `customerId`. */
export function customerOfRow(typeName: string, parent: unknown): string | undefined {
  if (typeof parent !== 'object' || parent === null) return undefined;
  const value = (parent as Record<string, unknown>)[typeName === 'Customer' ? 'id' : 'customerId'];
  return typeof value === 'string' ? value : undefined;
}

/** Partner grant check: `Type.field` or `Type.*`. */
export function grantAllows(
  viewer: ScopedViewer,
  typeName: string,
  fieldName: string,
  classification?: Classification,
): boolean {
  const coordinate = `${typeName}.${fieldName}`;
  // Personal data is never a partner's, whatever the grant names (a grant stored before the field
  // was classified PII included).
  if (classification && isPii(classification, coordinate)) return false;
  const fields = viewer.grant?.fields ?? [];
  return fields.includes(coordinate) || fields.includes(`${typeName}.*`);
}

/** Per-subgraph exceptions: `Type.field` or `Type.*` -> the only roles allowed (replaces the matrix). */
export type PermissionOverrides = Readonly<Record<string, readonly Role[]>>;

interface AuthzContext {
  viewer: ScopedViewer;
  /** Where the masks note each unmasked PII value they let through (the audit's PII reads, audit.ts). */
  piiReads?: { add(customerId: string, coordinate: string): void } | undefined;
}

/** Tag check instead of `instanceof`: robust when two copies of graphql are loaded (see errors.ts). */
function isObjectType(type: GraphQLNamedType | null | undefined): type is GraphQLObjectType {
  return Object.prototype.toString.call(type) === '[object GraphQLObjectType]';
}

const FEDERATION_FIELDS = new Set(['Query._service', 'Query._entities', '_Service.sdl']);
const STRUCTURAL_TYPE = /(Connection|Edge)$|^PageInfo$/;

function isInaccessible(field: GraphQLField<unknown, unknown>): boolean {
  return (
    field.astNode?.directives?.some(
      (d) => d.name.value === 'inaccessible' || d.name.value === 'federation__inaccessible',
    ) ?? false
  );
}

function isKeyField(type: GraphQLObjectType, fieldName: string): boolean {
  return (
    type.astNode?.directives?.some(
      (d) =>
        d.name.value === 'key' &&
        d.arguments?.some((a) => a.value.kind === 'StringValue' && a.value.value.split(/\s+/).includes(fieldName)),
    ) ?? false
  );
}

type Check = (parent: unknown, args: unknown, ctx: AuthzContext, info: GraphQLResolveInfo) => true | Error;

/** `roles` (those of the viewer that count in `domain`) may, whatever the row. */
function rolesCheck(domain: Domain, roles: readonly Role[], action: string): Check {
  return (_parent, _args, ctx) =>
    rolesIn(ctx.viewer, domain).some((role) => roles.includes(role)) ? true : forbidden(`Your role may not ${action}`);
}

function rolesRule(name: string, domain: Domain, roles: readonly Role[], action: string) {
  return rule(name, { cache: 'no_cache' })(rolesCheck(domain, roles, action));
}

/** The object a root mutation field returned (`recordFeatureUsage { id }`), not a row below it. */
function isMutationAnswer(info: GraphQLResolveInfo): boolean {
  return info.operation.operation === 'mutation' && info.path.prev !== undefined && info.path.prev.prev === undefined;
}

/**
 * `id` of the row a mutation returns: also readable by an integration account that may write the
 * domain — the one thing it reads of a domain row, so that a write it made can be referred to
 * (`recordFeatureUsage(...) { id }`). Anything else, and any row below the answer, stays refused.
 */
function answerIdRule(name: string, domain: Domain, otherwise: Check) {
  return rule(name, { cache: 'no_cache' })((parent, args, ctx: AuthzContext, info: GraphQLResolveInfo) =>
    isMutationAnswer(info) && rolesIn(ctx.viewer, domain).includes('integration')
      ? true
      : otherwise(parent, args, ctx, info),
  );
}

/**
 * A field of `domain` that `roles` may read. The viewer's roles among them allow it (a partner only
 * for what its grant names); on a row, one of those must also cover the row's customer. A row whose
 * customer cannot be told (value types, connections, roots) was confined by the data layer to the
 * rows of the domain's readers: it passes when the allowing roles include all of those readers.
 */
function readCheck(
  domain: Domain,
  typeName: string,
  fieldName: string,
  roles: readonly Role[],
  classification: Classification,
): Check {
  const coordinate = `${typeName}.${fieldName}`;
  const readers = READ_ACCESS[domain] ?? [];
  const writers = WRITE_ACCESS[domain] ?? [];
  return (parent, _args, ctx, info) => {
    const { viewer } = ctx;
    const own = rolesIn(viewer, domain);
    if (!own.some((role) => roles.includes(role)))
      return forbidden(`Your role may not read ${domain} data (${coordinate})`);
    const allowing = own.filter(
      (role) =>
        roles.includes(role) &&
        (role !== 'partner' ||
          (STRUCTURAL_TYPE.test(typeName) && !isPii(classification, coordinate)) ||
          grantAllows(viewer, typeName, fieldName, classification)),
    );
    if (allowing.length === 0) return forbidden(`Your partner grant does not include ${coordinate}`);
    const customerId = customerOfRow(typeName, parent);
    // A mutation's rows are confined to its write scope, not its read scope: where a role that may
    // write but not read here (integration) widened it, an unknown row needs a tenant-wide reader.
    const widenedByWriter =
      info.operation.operation === 'mutation' && own.some((role) => writers.includes(role) && !readers.includes(role));
    const covered =
      customerId === undefined
        ? allowing.some((role) => TENANT_WIDE_ROLES.includes(role)) ||
          (!widenedByWriter && own.every((role) => !readers.includes(role) || allowing.includes(role)))
        : coversRow(viewer, allowing, customerId);
    return covered || forbidden(`Your roles may not read ${coordinate} of this customer`);
  };
}

function readRule(
  domain: Domain,
  typeName: string,
  fieldName: string,
  roles: readonly Role[],
  classification: Classification,
) {
  return rule(`read:${typeName}.${fieldName}`, { cache: 'no_cache' })(
    readCheck(domain, typeName, fieldName, roles, classification),
  );
}

/** The shield rule tree of one subgraph, generated from its schema and the matrix. */
export function buildPermissions(
  domain: Domain,
  schema: GraphQLSchema,
  overrides: PermissionOverrides = {},
  classification: Classification = classifySchema(schema),
): IRules {
  const readers = READ_ACCESS[domain] ?? [];
  const writers = WRITE_ACCESS[domain] ?? [];
  const builtIn = { ...syncPermissions(domain), ...eventPermissions(domain) };
  const tree: Record<string, Record<string, unknown>> = {};
  // Shield refuses two rule objects with one name: build each named rule once.
  const named = new Map<string, ReturnType<typeof rolesRule>>();
  const shared = (name: string, roles: readonly Role[], action: string) => {
    let existing = named.get(name);
    if (!existing) named.set(name, (existing = rolesRule(name, domain, roles, action)));
    return existing;
  };
  const mutationType = schema.getMutationType()?.name;
  // Federation's own fields serve the gateway's viewers; a service principal gets none of them.
  const federation = rule('federation', { cache: 'no_cache' })((_parent, _args, ctx: AuthzContext) =>
    hasRole(ctx.viewer, 'service') ? forbidden('A service may call only the fields granted to it') : true,
  );
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const fields: Record<string, unknown> = {};
    for (const [fieldName, field] of Object.entries(type.getFields())) {
      const coordinate = `${type.name}.${fieldName}`;
      const override =
        overrides[coordinate] ?? overrides[`${type.name}.*`] ?? builtIn[coordinate] ?? builtIn[`${type.name}.*`];
      if (FEDERATION_FIELDS.has(coordinate)) fields[fieldName] = federation;
      // Internal fields are the gateway's (`system`) unless an override names who else calls them.
      else if (isInaccessible(field))
        fields[fieldName] = rolesRule(`internal:${coordinate}`, domain, override ?? ['system'], `call ${coordinate}`);
      else if (override)
        fields[fieldName] =
          type.name === mutationType
            ? rolesRule(`override:${coordinate}`, domain, override, `call ${coordinate}`)
            : readRule(domain, type.name, fieldName, override, classification);
      else if (type.name === mutationType)
        fields[fieldName] = shared(`write:${domain}`, writers, `change ${domain} data`);
      else if (fieldName === 'id')
        fields[fieldName] = answerIdRule(
          `answer-id:${coordinate}`,
          domain,
          isKeyField(type, fieldName)
            ? rolesCheck(domain, readers, `read ${domain} data`)
            : readCheck(domain, type.name, fieldName, readers, classification),
        );
      else if (isKeyField(type, fieldName)) fields[fieldName] = shared(`key:${domain}`, readers, `read ${domain} data`);
      else fields[fieldName] = readRule(domain, type.name, fieldName, readers, classification);
    }
    tree[type.name] = fields;
  }
  return tree as IRules;
}

/** A mask on every PII output field (classification.ts), lifted unless a PII role covers the row. */
function maskMiddleware(schema: GraphQLSchema, classification: Classification): IMiddleware {
  const middleware: Record<string, Record<string, unknown>> = {};
  for (const [coordinate, { level, mask: maskName }] of classification.fields) {
    if (level !== 'PII' || maskName === undefined) continue;
    const mask = MASKS[maskName];
    const [typeName = '', fieldName = ''] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.getFields()[fieldName]) continue;
    middleware[typeName] = {
      ...middleware[typeName],
      [fieldName]: async (
        resolve: (...a: unknown[]) => unknown,
        parent: unknown,
        args: unknown,
        ctx: AuthzContext,
        info: unknown,
      ) => {
        const value = await resolve(parent, args, ctx, info);
        // Unmasked only where a PII role covers this row's customer (unknown customer: masked).
        const customerId = customerOfRow(typeName, parent);
        if (!coversRow(ctx.viewer, PII_ROLES, customerId)) return mask(value);
        // A real value let through is a PII read the audit records (one entry per request, not per field).
        if (value !== null && value !== undefined) ctx.piiReads?.add(customerId ?? '(unknown)', coordinate);
        return value;
      },
    };
  }
  return middleware as IMiddleware;
}

/**
 * Wraps a built subgraph schema with its shield (fallback: deny) and the PII masks. Refuses a schema
 * with an unclassified field: masks and grants derive from the classification, so a field without
 * one would be a rule forgotten.
 */
export function applyAuthorization(
  domain: Domain,
  schema: GraphQLSchema,
  overrides: PermissionOverrides = {},
): GraphQLSchema {
  const classification = classifySchema(schema);
  assertClassified(`subgraph ${domain}`, classification);
  const permissions = shield(buildPermissions(domain, schema, overrides, classification), {
    fallbackRule: rule('fallback-deny', { cache: 'no_cache' })(() =>
      forbidden('No authorization rule covers this field'),
    ),
    allowExternalErrors: true,
    debug: false,
  });
  return applyMiddleware(schema, permissions, maskMiddleware(schema, classification));
}
