/**
 * The `integration` role as the subgraph kit applies it: per domain, a tiny federated schema with a
 * domain mutation, the sync API of the issue-7 contract (`sync<Domain>`, `resolve<Domain>Conflict`,
 * `replay<Domain>DeadLetter`, `Query.sync`) and a row with a value type below it, wrapped by
 * `applyAuthorization` and executed in-process for every domain x (domains named: it / it and
 * another / every other one) x (alone, beside each human role) x (row in the book or not).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse, type GraphQLSchema } from 'graphql';
import type * as GraphQL from 'graphql';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { applyAuthorization, READ_ACCESS, rolesIn, rowScope, WRITE_ACCESS } from '../src/authz.js';
import { DOMAINS, type Domain } from '../src/domains.js';
import { checkDomainsClaim, type Role, type ScopedViewer } from '../src/viewer.js';

const { graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const pascal = (domain: Domain) => `${domain.slice(0, 1).toUpperCase()}${domain.slice(1)}`;

function schemaFor(domain: Domain): GraphQLSchema {
  const D = pascal(domain);
  const typeDefs = parse(/* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
    directive @classification(level: String!, mask: String) repeatable on OBJECT | INTERFACE | INPUT_OBJECT | FIELD_DEFINITION | INPUT_FIELD_DEFINITION
    type Row @classification(level: "INTERNAL") {
      id: ID!
      customerId: ID!
      count: Int!
      detail: Detail!
    }
    "A value type: its object does not tell the customer."
    type Detail @classification(level: "INTERNAL") {
      note: String!
    }
    type SyncOutcomeCounts @shareable @classification(level: "INTERNAL") {
      applied: Int!
    }
    type SyncEventResult @shareable @classification(level: "INTERNAL") {
      outcome: String!
    }
    type SyncBatchResult @shareable @classification(level: "INTERNAL") {
      results: [SyncEventResult!]!
      counts: SyncOutcomeCounts!
    }
    type DomainSync @shareable @classification(level: "INTERNAL") {
      deadLetters: Int!
      auditTrail: Int!
    }
    type SyncDomains @shareable @classification(level: "INTERNAL") {
      ${domain}: DomainSync!
    }
    type Query @classification(level: "INTERNAL") {
      row(customerId: ID!): Row
      sync: SyncDomains! @shareable
    }
    type Mutation @classification(level: "INTERNAL") {
      recordRow(customerId: ID!): Row!
      sync${D}(events: [String!]!): SyncBatchResult!
      resolve${D}Conflict(id: ID!): SyncEventResult!
      replay${D}DeadLetter(id: ID!): SyncEventResult!
    }
  `);
  const row = (customerId: string) => ({ id: `row_${customerId}`, customerId, count: 7, detail: { note: 'secret' } });
  const answer = { outcome: 'APPLIED' };
  const resolvers = {
    Query: { row: (_: unknown, { customerId }: { customerId: string }) => row(customerId), sync: () => ({}) },
    SyncDomains: { [domain]: () => ({ deadLetters: 3, auditTrail: 5 }) },
    Mutation: {
      recordRow: (_: unknown, { customerId }: { customerId: string }) => row(customerId),
      [`sync${D}`]: () => ({ results: [answer], counts: { applied: 1 } }),
      [`resolve${D}Conflict`]: () => answer,
      [`replay${D}DeadLetter`]: () => answer,
    },
  };
  return applyAuthorization(
    domain,
    buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]),
  );
}
const SCHEMAS = Object.fromEntries(DOMAINS.map((d) => [d, schemaFor(d)])) as Record<Domain, GraphQLSchema>;

const IN_BOOK = 'cust_00001';
const OUT_OF_BOOK = 'cust_00002';

function viewer(roles: Role[], domains: Domain[] | undefined): ScopedViewer {
  return {
    userId: 'int1',
    tenantId: 'acme',
    roles,
    ...(domains ? { domains } : {}),
    book: [],
    customerIds: roles.some((r) => r === 'cs_manager' || r === 'sales_rep') ? [IN_BOOK] : null,
    requestId: 'r1',
  };
}

interface Result {
  data?: Record<string, unknown> | null;
  errors?: readonly { path?: readonly (string | number)[]; extensions: Record<string, unknown> }[];
}
async function run(schema: GraphQLSchema, who: ScopedViewer, source: string): Promise<Result> {
  const result = await graphql({ schema, source, contextValue: { viewer: who } });
  return {
    data: result.data as Record<string, unknown> | null | undefined,
    errors: result.errors?.map((e) => ({ path: e.path, extensions: e.extensions })),
  };
}
const refusedAt = (result: Result) =>
  (result.errors ?? []).map((e) => [e.extensions['code'], e.path?.join('.')] as const);

// The matrix, restated for the tests (the integration role counts only in its named domains).
const HUMAN: readonly Role[] = ['admin', 'cs_manager', 'sales_rep', 'marketing', 'finance'];
const WIDE: readonly Role[] = ['admin', 'marketing', 'finance'];
type Naming = 'one' | 'several' | 'none-of';
function named(focus: Domain, naming: Naming): Domain[] {
  const next = DOMAINS[(DOMAINS.indexOf(focus) + 1) % DOMAINS.length] as Domain;
  return naming === 'one' ? [focus] : naming === 'several' ? [focus, next] : DOMAINS.filter((d) => d !== focus);
}
const covers = (role: Role, customerId: string) => WIDE.includes(role) || customerId === IN_BOOK;
const humanReads = (human: Role | null, domain: Domain, customerId: string) =>
  human !== null && READ_ACCESS[domain].includes(human) && covers(human, customerId);
const humanWrites = (human: Role | null, domain: Domain, customerId: string) =>
  human !== null && WRITE_ACCESS[domain].includes(human) && covers(human, customerId);

const CASES = DOMAINS.flatMap((domain) =>
  (['one', 'several', 'none-of'] as const).flatMap((naming) =>
    [null, ...HUMAN].flatMap((human) =>
      [IN_BOOK, OUT_OF_BOOK].map((customerId) => ({
        domain,
        naming,
        human,
        customerId,
        name: `${domain}: integration[${naming}]${human ? `+${human}` : ''} on ${customerId === IN_BOOK ? 'a book' : 'an out-of-book'} row`,
      })),
    ),
  ),
);

describe('integration in the role matrix, per domain x naming x companion role x row', () => {
  it('covers 7 domains x 3 namings x 6 companions x 2 rows', () => expect(CASES).toHaveLength(252));

  it.each(CASES)('$name', async ({ domain, naming, human, customerId }) => {
    const domains = named(domain, naming);
    const isNamed = domains.includes(domain);
    const who = viewer(human ? ['integration', human] : ['integration'], domains);
    const schema = SCHEMAS[domain];
    const D = pascal(domain);

    // A domain mutation: its writers, the integration account where named. The answer: `id` for a
    // writer that named the domain, the rest only where the companion role reads that row.
    const write = await run(schema, who, `mutation { recordRow(customerId: "${customerId}") { id count } }`);
    const writes = isNamed || (human !== null && WRITE_ACCESS[domain].includes(human));
    if (!writes) {
      expect(refusedAt(write)).toEqual([['FORBIDDEN', 'recordRow']]);
    } else if (humanReads(human, domain, customerId)) {
      expect(write.errors).toBeUndefined();
      expect(write.data).toEqual({ recordRow: { id: `row_${customerId}`, count: 7 } });
    } else {
      // Out of the companion's rows without a named integration, the data layer refuses the write
      // itself (not modelled here); the answer is refused either way.
      expect(refusedAt(write)).toEqual([['FORBIDDEN', isNamed ? 'recordRow.count' : 'recordRow.id']]);
      expect(write.data ?? null).toBeNull();
      const idOnly = await run(schema, who, `mutation { recordRow(customerId: "${customerId}") { id } }`);
      if (isNamed) expect(idOnly.data).toEqual({ recordRow: { id: `row_${customerId}` } });
      else expect(refusedAt(idOnly)).toEqual([['FORBIDDEN', 'recordRow.id']]);
    }

    // The value type below a mutation's row: a companion reader that is not tenant-wide loses it once
    // a named integration widened the mutation's rows to the tenant (fail closed).
    const detail = await run(schema, who, `mutation { recordRow(customerId: "${customerId}") { detail { note } } }`);
    const seesDetail = writes && humanReads(human, domain, customerId) && (!isNamed || WIDE.includes(human as Role));
    if (seesDetail) expect(detail.data).toEqual({ recordRow: { detail: { note: 'secret' } } });
    else expect(detail.data ?? null).toBeNull();

    // Reads: exactly the companion's.
    const read = await run(schema, who, `{ row(customerId: "${customerId}") { id count detail { note } } }`);
    if (humanReads(human, domain, customerId)) {
      expect(read.errors).toBeUndefined();
      expect(read.data).toEqual({ row: { id: `row_${customerId}`, count: 7, detail: { note: 'secret' } } });
    } else {
      expect(refusedAt(read).length).toBeGreaterThan(0);
      expect(JSON.stringify(read.data ?? null)).not.toMatch(/secret|"count"/);
    }

    // Sync, dead-letter replays and the bookkeeping: admins and named integration accounts;
    // conflict overrides and the audit trail: admins.
    const sync = await run(schema, who, `mutation { sync${D}(events: []) { results { outcome } counts { applied } } }`);
    if (isNamed || human === 'admin') {
      expect(sync.errors).toBeUndefined();
      expect(sync.data).toEqual({ [`sync${D}`]: { results: [{ outcome: 'APPLIED' }], counts: { applied: 1 } } });
    } else expect(refusedAt(sync)).toEqual([['FORBIDDEN', `sync${D}`]]);
    const override = await run(schema, who, `mutation { resolve${D}Conflict(id: "c1") { outcome } }`);
    if (human === 'admin') expect(override.errors).toBeUndefined();
    else expect(refusedAt(override)).toEqual([['FORBIDDEN', `resolve${D}Conflict`]]);
    const replay = await run(schema, who, `mutation { replay${D}DeadLetter(id: "d1") { outcome } }`);
    if (isNamed || human === 'admin') expect(replay.errors).toBeUndefined();
    else expect(refusedAt(replay)).toEqual([['FORBIDDEN', `replay${D}DeadLetter`]]);
    const books = await run(schema, who, `{ sync { ${domain} { deadLetters } } }`);
    if (isNamed || human === 'admin') expect(books.data).toEqual({ sync: { [domain]: { deadLetters: 3 } } });
    else expect(refusedAt(books)).toEqual([['FORBIDDEN', 'sync']]);
    const audit = await run(schema, who, `{ sync { ${domain} { auditTrail } } }`);
    if (human === 'admin') expect(audit.data).toEqual({ sync: { [domain]: { auditTrail: 5 } } });
    else expect(refusedAt(audit)).toEqual([['FORBIDDEN', isNamed ? `sync.${domain}.auditTrail` : 'sync']]);

    // The data layer agrees: writes tenant-wide where named, reads only the companion's rows.
    const companion = human ? viewer([human], undefined) : viewer([], undefined);
    expect(rowScope(who, domain, 'read')).toEqual(rowScope(companion, domain, 'read'));
    expect(rowScope(who, domain, 'write').customerIds).toEqual(
      isNamed ? null : rowScope(companion, domain, 'write').customerIds,
    );
    expect(humanWrites(human, domain, customerId) || isNamed).toBe(
      (rowScope(who, domain, 'write').customerIds ?? [customerId]).includes(customerId),
    );
  });
});

describe('rolesIn and the domains claim', () => {
  it('counts integration only in the named domains, and nowhere without a domains list', () => {
    for (const domain of DOMAINS) {
      expect(rolesIn(viewer(['integration'], [domain]), domain)).toEqual(['integration']);
      for (const other of DOMAINS.filter((d) => d !== domain))
        expect(rolesIn(viewer(['integration', 'marketing'], [domain]), other)).toEqual(['marketing']);
      expect(rolesIn(viewer(['integration'], undefined), domain)).toEqual([]);
      expect(rowScope(viewer(['integration'], undefined), domain, 'write').customerIds).toEqual([]);
    }
  });

  it.each([
    [['integration'], ['product', 'finance', 'product'], { ok: true, domains: ['finance', 'product'] }],
    [['integration'], undefined, { ok: false }],
    [['integration'], [], { ok: false }],
    [['integration'], ['product', 'billing'], { ok: false }],
    [['integration'], 'product', { ok: false }],
    [['integration'], [1], { ok: false }],
    [['admin'], ['product'], { ok: false }],
    [['admin'], undefined, { ok: true, domains: undefined }],
    [['admin', 'integration'], ['sales'], { ok: true, domains: ['sales'] }],
  ])('checkDomainsClaim(%j, %j)', (roles, domains, expected) => {
    expect(checkDomainsClaim(roles, domains)).toMatchObject(expected);
  });
});
