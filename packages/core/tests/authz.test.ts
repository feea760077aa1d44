/**
 * The role matrix as the subgraph kit applies it: a tiny federated schema, wrapped by
 * `applyAuthorization`, executed in-process with different viewers.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse, type GraphQLSchema } from 'graphql';
import type * as GraphQL from 'graphql';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  applyAuthorization,
  buildPermissions,
  grantAllows,
  isMutationRequest,
  maskEmail,
  maskPhone,
  READ_ACCESS,
  requestScopes,
  rowScope,
  WRITE_ACCESS,
  type PermissionOverrides,
} from '../src/authz.js';
import type { Domain } from '../src/domains.js';
import type { Role, ScopedViewer } from '../src/viewer.js';

// Execute with the CommonJS build of graphql, the one @apollo/subgraph and graphql-middleware build
// the schema with (as in production); the test file's own import may resolve to the ESM build.
const { graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  directive @classification(
    level: String!
    mask: String
  ) repeatable on OBJECT | INTERFACE | INPUT_OBJECT | FIELD_DEFINITION | INPUT_FIELD_DEFINITION

  type Customer @key(fields: "id") @classification(level: "INTERNAL") {
    id: ID!
    name: String!
    secretNote: String
    contacts: ContactConnection!
  }
  type Contact @classification(level: "INTERNAL") {
    id: ID!
    customerId: ID
    email: String! @classification(level: "PII", mask: "EMAIL")
    phone: String @classification(level: "PII", mask: "PHONE")
  }
  type ContactConnection @classification(level: "INTERNAL") {
    edges: [ContactEdge!]!
    pageInfo: PageInfo!
  }
  type ContactEdge @classification(level: "INTERNAL") {
    node: Contact!
  }
  type PageInfo @classification(level: "PUBLIC") {
    hasNextPage: Boolean!
  }
  type Query @classification(level: "INTERNAL") {
    customer(id: ID!): Customer
    _internal: String @inaccessible
  }
  type Mutation @classification(level: "INTERNAL") {
    renameCustomer(id: ID!, name: String!): Customer!
  }
`);

const CUSTOMER = { id: 'cust_00001', name: 'Blue Labs 1', secretNote: 'renewal at risk' };
/** A second customer, outside the book (`customerIds`) the tests give book-scoped viewers. */
const OTHER_CUSTOMER = { id: 'cust_00002', name: 'Red Works 2', secretNote: 'churn risk' };
const CUSTOMERS = [CUSTOMER, OTHER_CUSTOMER];
const CONTACT = { id: 'cont_1', customerId: 'cust_00001', email: 'jane.doe@acme.example', phone: '+1 (555) 010-1234' };
const OTHER_CONTACT = {
  id: 'cont_2',
  customerId: 'cust_00002',
  email: 'max.roe@red.example',
  phone: '+1 555 010 9876',
};
/** A contact whose row does not tell its customer (fail closed: masked for book roles). */
const ORPHAN_CONTACT = { id: 'cont_3', email: 'ann.oak@acme.example', phone: '+1 555 010 5555' };
const CONTACTS: Record<string, object[]> = {
  cust_00001: [CONTACT],
  cust_00002: [OTHER_CONTACT],
  orphan: [ORPHAN_CONTACT],
};

/** `orphan`: a customer-like row without a customer of its own in the book or out of it. */
const byId = (id: string) => CUSTOMERS.find((c) => c.id === id) ?? (id === 'orphan' ? { ...CUSTOMER, id } : null);
const resolvers = {
  Query: {
    customer: (_: unknown, { id }: { id: string }) => byId(id),
    _internal: () => 'internal',
  },
  Mutation: { renameCustomer: (_: unknown, { name }: { name: string }) => ({ ...CUSTOMER, name }) },
  Customer: {
    __resolveReference: (ref: { id: string }) => byId(ref.id),
    contacts: (customer: { id: string }) => ({
      edges: (CONTACTS[customer.id] ?? []).map((node) => ({ node })),
      pageInfo: { hasNextPage: false },
    }),
  },
};

function schemaFor(domain: string, overrides: PermissionOverrides = {}): GraphQLSchema {
  // A domain outside the matrix is what a new subgraph would be before anyone adds it.
  return applyAuthorization(
    domain as Domain,
    buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]),
    overrides,
  );
}

function viewer(roles: Role[], extra: Partial<ScopedViewer> = {}): ScopedViewer {
  return { userId: 'u1', tenantId: 'acme', roles, book: [], customerIds: null, requestId: 'r1', ...extra };
}

interface Result {
  data?: Record<string, unknown> | null;
  errors?: readonly { message: string; path?: readonly (string | number)[]; extensions: Record<string, unknown> }[];
}

async function run(
  schema: GraphQLSchema,
  who: ScopedViewer,
  source: string,
  variableValues: Record<string, unknown> = {},
): Promise<Result> {
  const result = await graphql({ schema, source, contextValue: { viewer: who }, variableValues });
  return {
    data: result.data as Record<string, unknown> | null | undefined,
    errors: result.errors?.map((e) => ({ message: e.message, path: e.path, extensions: e.extensions })),
  };
}

const codes = (result: Result) => (result.errors ?? []).map((e) => e.extensions['code']);
const CUSTOMER_QUERY =
  '{ customer(id: "cust_00001") { id name secretNote contacts { edges { node { email phone } } } } }';
const ENTITIES_QUERY =
  '{ _entities(representations: [{ __typename: "Customer", id: "cust_00001" }]) { ... on Customer { id name } } }';

describe('role matrix', () => {
  it('lists every domain of the hub for reading and writing, and never lets a partner write', () => {
    const domains: Domain[] = ['customers', 'marketing', 'sales', 'product', 'finance', 'support', 'health'];
    for (const domain of domains) {
      expect(READ_ACCESS[domain]).toContain('admin');
      expect(READ_ACCESS[domain]).toContain('partner');
      expect(WRITE_ACCESS[domain]).toContain('admin');
      expect(WRITE_ACCESS[domain]).not.toContain('partner');
    }
    expect(READ_ACCESS.finance).not.toContain('sales_rep');
    expect(READ_ACCESS.finance).not.toContain('marketing');
    expect(READ_ACCESS.marketing).not.toContain('finance');
  });

  it('generates a rule for every field of every object type, federation and internal fields included', () => {
    const rules = buildPermissions(
      'customers',
      buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]),
    ) as Record<string, Record<string, unknown>>;
    expect(Object.keys(rules)).toEqual(
      expect.arrayContaining(['Customer', 'Contact', 'ContactConnection', 'Query', 'Mutation', '_Service']),
    );
    expect(Object.keys(rules['Query'] ?? {})).toEqual(
      expect.arrayContaining(['customer', '_internal', '_service', '_entities']),
    );
  });
});

describe('applyAuthorization on a subgraph schema', () => {
  const customers = schemaFor('customers');
  const finance = schemaFor('finance');

  it('lets an admin read every field unmasked', async () => {
    const result = await run(customers, viewer(['admin']), CUSTOMER_QUERY);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      customer: { ...CUSTOMER, contacts: { edges: [{ node: { email: CONTACT.email, phone: CONTACT.phone } }] } },
    });
  });

  it('masks contact email and phone for marketing instead of denying them', async () => {
    const result = await run(customers, viewer(['marketing']), CUSTOMER_QUERY);
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({
      customer: { contacts: { edges: [{ node: { email: 'j***@acme.example', phone: '***34' } }] } },
    });
    expect(JSON.stringify(result.data)).not.toContain('jane.doe');
  });

  it('refuses a role outside the domain with FORBIDDEN and no data', async () => {
    for (const role of ['marketing', 'sales_rep'] as const) {
      const result = await run(finance, viewer([role]), CUSTOMER_QUERY);
      expect(codes(result)).toEqual(['FORBIDDEN']);
      expect(result.data?.['customer'] ?? null).toBeNull();
    }
  });

  it('refuses fields without an HTTP status, so the subgraph answers partial data instead of a 403 the gateway reads as an outage', async () => {
    const result = await run(finance, viewer(['sales_rep']), CUSTOMER_QUERY);
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors ?? []) expect(error.extensions['http']).toBeUndefined();
  });

  it('denies every field of a domain missing from the matrix (fail closed), admin included', async () => {
    const unknown = schemaFor('billing');
    for (const role of ['admin', 'cs_manager', 'partner'] as const) {
      const result = await run(unknown, viewer([role]), CUSTOMER_QUERY);
      expect(codes(result)).toContain('FORBIDDEN');
      expect(result.data?.['customer'] ?? null).toBeNull();
      const write = await run(
        unknown,
        viewer([role]),
        'mutation { renameCustomer(id: "cust_00001", name: "X") { id } }',
      );
      expect(codes(write)).toEqual(['FORBIDDEN']);
    }
  });

  it('still answers composition (_service) for any signed viewer, even on a domain outside the matrix', async () => {
    for (const schema of [customers, schemaFor('billing')]) {
      const result = await run(schema, viewer(['system'], { tenantId: null }), '{ _service { sdl } }');
      expect(result.errors).toBeUndefined();
      expect(String((result.data?.['_service'] as { sdl: string }).sdl)).toContain('type Customer');
    }
  });

  it('allows _entities itself but applies the field rules to what it returns', async () => {
    const admin = await run(customers, viewer(['admin']), ENTITIES_QUERY);
    expect(admin.errors).toBeUndefined();
    expect(admin.data).toEqual({ _entities: [{ id: 'cust_00001', name: CUSTOMER.name }] });
    const outsider = await run(finance, viewer(['marketing']), ENTITIES_QUERY);
    expect(codes(outsider)).toContain('FORBIDDEN');
    expect(JSON.stringify(outsider.data ?? null)).not.toContain(CUSTOMER.name);
  });

  it('limits mutations to the domain writers', async () => {
    const rename = 'mutation { renameCustomer(id: "cust_00001", name: "Renamed") { id name } }';
    expect((await run(customers, viewer(['cs_manager'], { customerIds: [CUSTOMER.id] }), rename)).data).toEqual({
      renameCustomer: { id: 'cust_00001', name: 'Renamed' },
    });
    for (const role of ['sales_rep', 'marketing', 'finance', 'partner'] as const) {
      const result = await run(customers, viewer([role]), rename);
      expect(codes(result), role).toEqual(['FORBIDDEN']);
      expect(result.data ?? null).toBeNull();
    }
    expect(codes(await run(finance, viewer(['finance']), rename))).toEqual([]);
    expect(codes(await run(finance, viewer(['cs_manager']), rename))).toEqual(['FORBIDDEN']);
  });

  it('keeps @inaccessible internal fields for the system viewer only', async () => {
    for (const role of ['admin', 'cs_manager', 'partner'] as const) {
      expect(codes(await run(customers, viewer([role]), '{ _internal }')), role).toEqual(['FORBIDDEN']);
    }
    expect((await run(customers, viewer(['system']), '{ _internal }')).data).toEqual({ _internal: 'internal' });
  });
});

describe('service principals (one subgraph calling another)', () => {
  const service = () => viewer(['service'], { userId: 'service:sales', customerIds: null });
  const operations = {
    'a domain field': '{ customer(id: "cust_00001") { id name } }',
    'an internal field': '{ _internal }',
    'a mutation': 'mutation { renameCustomer(id: "cust_00001", name: "X") { id } }',
    _entities: ENTITIES_QUERY,
    _service: '{ _service { sdl } }',
  };
  const domains: Domain[] = ['customers', 'marketing', 'sales', 'product', 'finance', 'support', 'health'];
  const cases = domains.flatMap((domain) =>
    Object.entries(operations).map(([name, query]) => [`${domain}: ${name}`, domain, query] as const),
  );
  it.each(cases)('get nothing the matrix grants (%s)', async (_name, domain, query) => {
    const result = await run(schemaFor(domain), service(), query);
    expect(codes(result)).toContain('FORBIDDEN');
    expect(JSON.stringify(result.data ?? null)).not.toMatch(/cust_00001|"internal"|type Customer/);
  });

  it('get exactly the internal field an override names, which then the system viewer no longer gets', async () => {
    const schema = applyAuthorization(
      'customers',
      buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]),
      { 'Query._internal': ['service'] },
    );
    expect((await run(schema, service(), '{ _internal }')).data).toEqual({ _internal: 'internal' });
    expect(codes(await run(schema, viewer(['system']), '{ _internal }'))).toEqual(['FORBIDDEN']);
    expect(codes(await run(schema, service(), operations['a domain field']))).toContain('FORBIDDEN');
  });
});

describe('partner grants', () => {
  const customers = schemaFor('customers');
  const partner = (fields: string[]) => viewer(['partner'], { customerIds: ['cust_00001'], grant: { fields } });

  it('reads granted fields, connection types and the entity key without naming them', async () => {
    const result = await run(
      customers,
      partner(['Query.customer', 'Customer.name', 'Customer.contacts', 'Contact.id']),
      '{ customer(id: "cust_00001") { id name contacts { pageInfo { hasNextPage } edges { node { id } } } } }',
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      customer: {
        id: 'cust_00001',
        name: CUSTOMER.name,
        contacts: { pageInfo: { hasNextPage: false }, edges: [{ node: { id: CONTACT.id } }] },
      },
    });
  });

  it('never reads a PII field, even one its grant names or a wildcard covers', async () => {
    for (const fields of [['Contact.id', 'Contact.phone'], ['Contact.*']]) {
      const result = await run(
        customers,
        partner(['Query.customer', 'Customer.contacts', ...fields]),
        '{ customer(id: "cust_00001") { contacts { edges { node { id phone } } } } }',
      );
      expect(result.errors?.map((e) => [e.extensions['code'], e.path?.join('.')])).toEqual([
        ['FORBIDDEN', 'customer.contacts.edges.0.node.phone'],
      ]);
      expect(result.data).toEqual({ customer: { contacts: { edges: [{ node: { id: CONTACT.id, phone: null } }] } } });
    }
  });

  it('refuses a field outside the grant with FORBIDDEN on that field only', async () => {
    const result = await run(
      customers,
      partner(['Query.customer', 'Customer.name']),
      '{ customer(id: "cust_00001") { id name secretNote } }',
    );
    expect(result.errors?.map((e) => [e.extensions['code'], e.path?.join('.')])).toEqual([
      ['FORBIDDEN', 'customer.secretNote'],
    ]);
    expect(result.data).toEqual({ customer: { id: 'cust_00001', name: CUSTOMER.name, secretNote: null } });
  });

  it('honours `Type.*` and refuses a root field the grant does not name', async () => {
    const wildcard = await run(
      customers,
      partner(['Query.customer', 'Customer.*']),
      '{ customer(id: "cust_00001") { name secretNote } }',
    );
    expect(wildcard.errors).toBeUndefined();
    expect(wildcard.data).toEqual({ customer: { name: CUSTOMER.name, secretNote: CUSTOMER.secretNote } });
    const noRoot = await run(customers, partner(['Customer.*']), '{ customer(id: "cust_00001") { name } }');
    expect(codes(noRoot)).toEqual(['FORBIDDEN']);
    expect(noRoot.data).toEqual({ customer: null });
  });

  it('applies the grant to _entities too', async () => {
    const result = await run(customers, partner(['Customer.secretNote']), ENTITIES_QUERY);
    expect(result.errors?.map((e) => [e.extensions['code'], e.path?.join('.')])).toEqual([
      ['FORBIDDEN', '_entities.0.name'],
    ]);
  });

  it('grantAllows matches `Type.field` and `Type.*` exactly', () => {
    const who = partner(['Customer.name', 'Invoice.*']);
    expect(grantAllows(who, 'Customer', 'name')).toBe(true);
    expect(grantAllows(who, 'Customer', 'nameX')).toBe(false);
    expect(grantAllows(who, 'Invoice', 'amount')).toBe(true);
    expect(grantAllows(who, 'InvoiceLine', 'amount')).toBe(false);
    expect(grantAllows(viewer(['partner']), 'Customer', 'name')).toBe(false);
  });
});

// The union rule, restated for the tests: a role brings the whole tenant or the viewer's customers.
const HUMAN: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'marketing', 'finance'];
const WIDE: readonly Role[] = ['admin', 'marketing', 'finance'];
const PII: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'finance'];
const DOMAINS: readonly Domain[] = ['customers', 'marketing', 'sales', 'product', 'finance', 'support', 'health'];
const BOOK = ['cust_00001'];
const pairsOf = (roles: readonly Role[]) => roles.flatMap((a, i) => roles.slice(i + 1).map((b) => [a, b] as Role[]));
const PAIRS = pairsOf(HUMAN);
const WITH_PARTNER = [...pairsOf([...HUMAN, 'partner']), ...[...HUMAN, 'partner' as Role].map((r) => [r])];

/** What the union rule says the rows of `roles` are for `action` in `domain` (null: whole tenant). */
function expectedRows(roles: readonly Role[], domain: Domain, action: 'read' | 'write'): string[] | null {
  const able = roles.filter((r) => (action === 'read' ? READ_ACCESS : WRITE_ACCESS)[domain].includes(r));
  if (able.some((r) => WIDE.includes(r))) return null;
  return able.length > 0 ? BOOK : [];
}

describe('rowScope: the union of the rows of the roles that may act in the domain', () => {
  it('has 10 pairs of the five human roles', () => expect(PAIRS).toHaveLength(10));

  const cases = WITH_PARTNER.flatMap((roles) =>
    DOMAINS.flatMap((domain) => (['read', 'write'] as const).map((action) => ({ roles, domain, action }))),
  );
  it.each(cases)('$roles $action $domain', ({ roles, domain, action }) => {
    expect(rowScope(viewer(roles, { customerIds: BOOK }), domain, action)).toEqual({
      tenantId: 'acme',
      customerIds: expectedRows(roles, domain, action),
    });
  });

  it('never lets a tenant-wide role widen another role’s domain: [marketing, sales_rep] and [marketing, cs_manager]', () => {
    const mkt = (other: Role) => viewer(['marketing', other], { customerIds: BOOK });
    expect(rowScope(mkt('sales_rep'), 'sales', 'read').customerIds).toEqual(BOOK);
    expect(rowScope(mkt('sales_rep'), 'sales', 'write').customerIds).toEqual(BOOK);
    expect(rowScope(mkt('sales_rep'), 'customers', 'read').customerIds).toBeNull();
    expect(rowScope(mkt('cs_manager'), 'customers', 'write').customerIds).toEqual(BOOK);
    expect(rowScope(mkt('cs_manager'), 'marketing', 'write').customerIds).toBeNull();
  });

  it('gives the system viewer every row of its tenant to read in every domain, and nothing to write', () => {
    for (const domain of DOMAINS) {
      expect(rowScope(viewer(['system'], { tenantId: 'globex' }), domain, 'read')).toEqual({
        tenantId: 'globex',
        customerIds: null,
      });
      expect(rowScope(viewer(['system']), domain, 'write').customerIds).toEqual([]);
    }
  });

  it('fails closed when a customer-scoped role arrives without resolved customers, or with no role at all', () => {
    expect(rowScope(viewer(['sales_rep'], { customerIds: null }), 'sales', 'read').customerIds).toEqual([]);
    expect(rowScope(viewer(['partner'], { customerIds: null }), 'sales', 'read').customerIds).toEqual([]);
    expect(rowScope(viewer([], { customerIds: null }), 'customers', 'read').customerIds).toEqual([]);
    expect(rowScope(viewer(['admin']), 'billing' as Domain, 'read').customerIds).toEqual([]);
  });

  it('makes a mutation read with its write scope (look-ups and read-backs of rows it may not write)', () => {
    const who = viewer(['marketing', 'cs_manager'], { customerIds: BOOK });
    expect(requestScopes(who, 'customers', false)).toEqual({
      read: { tenantId: 'acme', customerIds: null },
      write: { tenantId: 'acme', customerIds: BOOK },
    });
    expect(requestScopes(who, 'customers', true)).toEqual({
      read: { tenantId: 'acme', customerIds: BOOK },
      write: { tenantId: 'acme', customerIds: BOOK },
    });
  });

  it.each([
    [{ query: '{ customer(id: "x") { id } }' }, false],
    [{ query: 'query Q { a } mutation M { b }', operationName: 'Q' }, false],
    [{ query: '{ a(note: "mutation") { mutation: id } }' }, false],
    [{ query: 'mutation { renameCustomer(id: "x", name: "y") { id } }' }, true],
    [{ query: 'query Q { a } mutation M { b }', operationName: 'M' }, true],
    [{ query: 'query Q { a } mutation M { b }' }, true],
    [{ query: 'mutation { broken' }, true],
    [{ extensions: { persistedQuery: {} } }, true],
    [[{ query: '{ a }' }], true],
    [undefined, true],
  ])('isMutationRequest(%j) is %s (ambiguous counts as a mutation)', (body, expected) => {
    expect(isMutationRequest(body)).toBe(expected);
  });
});

describe('field rules and masks per row, over every pair of the five human roles', () => {
  const question = (id: string) =>
    `{ customer(id: "${id}") { id name contacts { edges { node { id email phone } } } } }`;
  /** Whether the pair reads `domain` on a customer in the book (`inBook`) or outside it. */
  const readsRow = (roles: readonly Role[], domain: Domain, inBook: boolean) =>
    roles.some((r) => READ_ACCESS[domain].includes(r) && (WIDE.includes(r) || inBook));
  const unmasked = (roles: readonly Role[], inBook: boolean) =>
    roles.some((r) => PII.includes(r) && (WIDE.includes(r) || inBook));
  const schemas = Object.fromEntries(DOMAINS.map((d) => [d, schemaFor(d)])) as Record<Domain, GraphQLSchema>;

  const cases = [...PAIRS, ...HUMAN.map((r) => [r])].flatMap((roles) =>
    DOMAINS.flatMap((domain) => CUSTOMERS.map((customer) => ({ roles, domain, customer }))),
  );
  it.each(cases)('$roles in $domain on $customer.id', async ({ roles, domain, customer }) => {
    const inBook = BOOK.includes(customer.id);
    const result = await run(schemas[domain], viewer(roles, { customerIds: BOOK }), question(customer.id));
    if (!readsRow(roles, domain, inBook)) {
      expect(codes(result).length).toBeGreaterThan(0);
      for (const code of codes(result)) expect(code).toBe('FORBIDDEN');
      expect(result.data?.['customer'] ?? null).toBeNull();
      return;
    }
    expect(result.errors).toBeUndefined();
    const contact = customer === CUSTOMER ? CONTACT : OTHER_CONTACT;
    const open = unmasked(roles, inBook);
    expect(result.data).toEqual({
      customer: {
        id: customer.id,
        name: customer.name,
        contacts: {
          edges: [
            {
              node: {
                id: contact.id,
                email: open ? contact.email : maskEmail(contact.email),
                phone: open ? contact.phone : maskPhone(contact.phone),
              },
            },
          ],
        },
      },
    });
  });

  it.each(PAIRS.filter((roles) => !roles.some((r) => ['admin', 'finance'].includes(r))).map((roles) => ({ roles })))(
    '$roles: a contact whose row does not tell its customer stays masked (fail closed)',
    async ({ roles }) => {
      const who = viewer(roles, { customerIds: [...BOOK, 'orphan'] });
      const result = await run(schemas.customers, who, question('orphan'));
      expect(result.errors).toBeUndefined();
      expect(JSON.stringify(result.data)).not.toContain(ORPHAN_CONTACT.email);
      expect(JSON.stringify(result.data)).toContain(String(maskEmail(ORPHAN_CONTACT.email)));
    },
  );

  const overridden = schemaFor('customers', { 'Customer.secretNote': ['cs_manager'] });
  it.each(PAIRS.flatMap((roles) => CUSTOMERS.map((customer) => ({ roles, customer }))))(
    'a per-subgraph override (Customer.secretNote: cs_manager) holds per row: $roles on $customer.id',
    async ({ roles, customer }) => {
      const result = await run(
        overridden,
        viewer(roles, { customerIds: BOOK }),
        `{ customer(id: "${customer.id}") { id secretNote } }`,
      );
      if (roles.includes('cs_manager') && BOOK.includes(customer.id)) {
        expect(result.errors).toBeUndefined();
        expect(result.data).toEqual({ customer: { id: customer.id, secretNote: customer.secretNote } });
      } else {
        expect(result.errors?.map((e) => [e.extensions['code'], e.path?.join('.')])).toEqual([
          ['FORBIDDEN', 'customer.secretNote'],
        ]);
        expect(result.data).toEqual({ customer: { id: customer.id, secretNote: null } });
      }
    },
  );
});

describe('masks', () => {
  it('keeps the first letter and the domain of an email, and the last two digits of a phone', () => {
    expect(maskEmail('jane.doe@acme.example')).toBe('j***@acme.example');
    expect(maskPhone('+1 (555) 010-1234')).toBe('***34');
    expect(maskEmail(null)).toBeNull();
    expect(maskPhone(undefined)).toBeUndefined();
  });
});
