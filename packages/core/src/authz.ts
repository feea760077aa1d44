/**
 * Authorization: the one role matrix of the hub, and the graphql-shield rules and field masks
 * every subgraph gets from it (the subgraph kit applies them; no subgraph writes its own).
 *
 * - which roles may read / write each domain's subgraph;
 * - which rows: the viewer's tenant always, and for book- or grant-scoped roles only their customers
 *   (`rowScope`, enforced in the data layer by `scopeToViewer`);
 * - partners read only the fields their grant names;
 * - contact PII is masked for roles that may see customers but not their people.
 * Fail closed: a domain missing from the matrix, a model missing from a subgraph's customer keys,
 * or a book-scoped viewer without a resolved scope, all yield nothing.
 */
import type { GraphQLField, GraphQLNamedType, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { applyMiddleware, type IMiddleware } from 'graphql-middleware';
import { rule, shield, type IRules } from 'graphql-shield';
import type { Domain } from './domains.js';
import { forbidden } from './errors.js';
import { hasRole, type Role, type Viewer } from './viewer.js';

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

/** Roles that may call each subgraph's mutations (row scope still applies). Partners never write. */
export const WRITE_ACCESS: Readonly<Record<Domain, readonly Role[]>> = {
  customers: ['admin', 'cs_manager'],
  marketing: ['admin', 'cs_manager', 'marketing'],
  sales: ['admin', 'cs_manager', 'sales_rep'],
  product: ['admin', 'cs_manager'],
  finance: ['admin', 'finance'],
  support: ['admin', 'cs_manager'],
  health: ['admin', 'cs_manager'],
};

/**
 * Roles whose row scope is the whole tenant; every other role sees only its `customerIds`.
 * `service` (a subgraph's own call) reaches only the fields its callee's overrides grant it.
 */
export const TENANT_WIDE_ROLES: readonly Role[] = ['admin', 'marketing', 'finance', 'system', 'service'];

/** Roles that see contact PII unmasked. */
export const PII_ROLES: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'finance'];

export function maskEmail(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const [local = '', domain = ''] = value.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

export function maskPhone(value: unknown): unknown {
  return typeof value === 'string' ? `***${value.replace(/\D/g, '').slice(-2)}` : value;
}

/** Fields masked for viewers without a PII role. */
export const PII_MASKS: Readonly<Record<string, (value: unknown) => unknown>> = {
  'Contact.email': maskEmail,
  'Contact.phone': maskPhone,
};

/** The rows a viewer may touch, for `scopeToViewer`. */
export function rowScope(viewer: Viewer): { tenantId: string | null; customerIds: readonly string[] | null } {
  if (hasRole(viewer, ...TENANT_WIDE_ROLES)) return { tenantId: viewer.tenantId, customerIds: null };
  return { tenantId: viewer.tenantId, customerIds: viewer.customerIds ?? [] };
}

/** Partner grant check: `Type.field` or `Type.*`. */
export function grantAllows(viewer: Viewer, typeName: string, fieldName: string): boolean {
  const fields = viewer.grant?.fields ?? [];
  return fields.includes(`${typeName}.${fieldName}`) || fields.includes(`${typeName}.*`);
}

/** Per-subgraph exceptions: `Type.field` or `Type.*` -> the only roles allowed (replaces the matrix). */
export type PermissionOverrides = Readonly<Record<string, readonly Role[]>>;

interface AuthzContext {
  viewer: Viewer;
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

function rolesRule(name: string, roles: readonly Role[], action: string) {
  return rule(name, { cache: 'no_cache' })((_parent, _args, ctx: AuthzContext) =>
    hasRole(ctx.viewer, ...roles) ? true : forbidden(`Your role may not ${action}`),
  );
}

function readRule(domain: Domain, typeName: string, fieldName: string, roles: readonly Role[]) {
  const coordinate = `${typeName}.${fieldName}`;
  return rule(`read:${coordinate}`, { cache: 'no_cache' })((_parent, _args, ctx: AuthzContext) => {
    const { viewer } = ctx;
    if (!hasRole(viewer, ...roles)) return forbidden(`Your role may not read ${domain} data (${coordinate})`);
    if (hasRole(viewer, 'partner') && !hasRole(viewer, ...roles.filter((r) => r !== 'partner'))) {
      if (!STRUCTURAL_TYPE.test(typeName) && !grantAllows(viewer, typeName, fieldName)) {
        return forbidden(`Your partner grant does not include ${coordinate}`);
      }
    }
    return true;
  });
}

/** The shield rule tree of one subgraph, generated from its schema and the matrix. */
export function buildPermissions(domain: Domain, schema: GraphQLSchema, overrides: PermissionOverrides = {}): IRules {
  const readers = READ_ACCESS[domain] ?? [];
  const writers = WRITE_ACCESS[domain] ?? [];
  const tree: Record<string, Record<string, unknown>> = {};
  // Shield refuses two rule objects with one name: build each named rule once.
  const named = new Map<string, ReturnType<typeof rolesRule>>();
  const shared = (name: string, roles: readonly Role[], action: string) => {
    let existing = named.get(name);
    if (!existing) named.set(name, (existing = rolesRule(name, roles, action)));
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
      const override = overrides[coordinate] ?? overrides[`${type.name}.*`];
      if (FEDERATION_FIELDS.has(coordinate)) fields[fieldName] = federation;
      // Internal fields are the gateway's (`system`) unless an override names who else calls them.
      else if (isInaccessible(field))
        fields[fieldName] = rolesRule(`internal:${coordinate}`, override ?? ['system'], `call ${coordinate}`);
      else if (override)
        fields[fieldName] =
          type.name === mutationType
            ? rolesRule(`override:${coordinate}`, override, `call ${coordinate}`)
            : readRule(domain, type.name, fieldName, override);
      else if (type.name === mutationType)
        fields[fieldName] = shared(`write:${domain}`, writers, `change ${domain} data`);
      else if (isKeyField(type, fieldName)) fields[fieldName] = shared(`key:${domain}`, readers, `read ${domain} data`);
      else fields[fieldName] = readRule(domain, type.name, fieldName, readers);
    }
    tree[type.name] = fields;
  }
  return tree as IRules;
}

function maskMiddleware(schema: GraphQLSchema): IMiddleware {
  const middleware: Record<string, Record<string, unknown>> = {};
  for (const [coordinate, mask] of Object.entries(PII_MASKS)) {
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
        return hasRole(ctx.viewer, ...PII_ROLES) ? value : mask(value);
      },
    };
  }
  return middleware as IMiddleware;
}

/** Wraps a built subgraph schema with its shield (fallback: deny) and the PII masks. */
export function applyAuthorization(
  domain: Domain,
  schema: GraphQLSchema,
  overrides: PermissionOverrides = {},
): GraphQLSchema {
  const permissions = shield(buildPermissions(domain, schema, overrides), {
    fallbackRule: rule('fallback-deny', { cache: 'no_cache' })(() =>
      forbidden('No authorization rule covers this field'),
    ),
    allowExternalErrors: true,
    debug: false,
  });
  return applyMiddleware(schema, permissions, maskMiddleware(schema));
}
