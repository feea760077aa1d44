import { createRequire } from 'node:module';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type * as GraphQL from 'graphql';
import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { applyAuthorization } from '../src/authz.js';
import { DATA_CLASSES, classifyDocument, piiNames, withoutClassification } from '../src/classification.js';
import { DOMAINS } from '../src/domains.js';
import { hubClassification, mergeClassifications, subgraphSchemaPath, subgraphSdl } from '../src/schemaFiles.js';
import type { Role, ScopedViewer } from '../src/viewer.js';

// The CommonJS graphql, the one @apollo/subgraph builds with (as in authz.test.ts).
const { graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const DIRECTIVE =
  'directive @classification(level: String!, mask: String) repeatable on OBJECT | INTERFACE | INPUT_OBJECT | FIELD_DEFINITION | INPUT_FIELD_DEFINITION';
const HEADER = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n${DIRECTIVE}`;

const problemsOf = (sdl: string) => classifyDocument(`${DIRECTIVE}\n${sdl}`).problems;

describe('data classification', () => {
  it('takes a type block’s level as the default of its fields, a field’s own level first', () => {
    const { fields, problems } = classifyDocument(`${DIRECTIVE}
      type Person @classification(level: "INTERNAL") {
        id: ID!
        email: String @classification(level: "PII", mask: "EMAIL")
      }
      input PersonInput @classification(level: "CONFIDENTIAL") { email: String @classification(level: "PII") note: String }`);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(fields)).toEqual({
      'Person.id': { level: 'INTERNAL' },
      'Person.email': { level: 'PII', mask: 'EMAIL' },
      'PersonInput.email': { level: 'PII' },
      'PersonInput.note': { level: 'CONFIDENTIAL' },
    });
  });

  it('leaves a field unclassified when neither it nor its own block says (an extension does not inherit)', () => {
    expect(problemsOf(`type A { id: ID! }`)).toEqual(['A.id: no @classification on the field or its type block']);
    expect(
      problemsOf(`type A @classification(level: "INTERNAL") { id: ID! }
                  extend type A { added: String }`),
    ).toEqual(['A.added: no @classification on the field or its type block']);
    expect(problemsOf(`interface I { id: ID! }`)).toHaveLength(1);
    expect(problemsOf(`input In { id: ID! }`)).toHaveLength(1);
  });

  it('refuses unknown levels and masks, masks off PII output fields, PII output fields without a mask', () => {
    const cases: [string, RegExp][] = [
      [
        `type A @classification(level: "SECRET") { id: ID! }`,
        /level must be one of PUBLIC, INTERNAL, CONFIDENTIAL, PII/,
      ],
      [`type A { id: ID! @classification(level: "PII", mask: "HASH") }`, /mask must be one of EMAIL, PHONE, REDACT/],
      [`type A { id: ID! @classification(level: "PII") }`, /A.id: a PII output field names its mask/],
      [`type A { id: ID! @classification(level: "INTERNAL", mask: "EMAIL") }`, /only a PII output field takes a mask/],
      [`input A { id: ID! @classification(level: "PII", mask: "EMAIL") }`, /only a PII output field takes a mask/],
      [`type A @classification(level: "PII", mask: "EMAIL") { id: ID! }`, /a mask belongs on a PII field/],
      [
        `type A { id: ID! @classification(level: "PUBLIC") @classification(level: "PII", mask: "EMAIL") }`,
        /more than one @classification/,
      ],
    ];
    for (const [sdl, problem] of cases) expect(problemsOf(sdl).join('\n')).toMatch(problem);
  });

  it('refuses a shared type the subgraphs classify differently', () => {
    const one = classifyDocument(
      `${DIRECTIVE} type PageInfo @classification(level: "PUBLIC") { hasNextPage: Boolean! }`,
    );
    const two = classifyDocument(
      `${DIRECTIVE} type PageInfo @classification(level: "INTERNAL") { hasNextPage: Boolean! }`,
    );
    expect(
      mergeClassifications([
        ['a', one],
        ['a2', one],
      ]).problems,
    ).toEqual([]);
    expect(
      mergeClassifications([
        ['a', one],
        ['b', two],
      ]).problems,
    ).toEqual(['b: PageInfo.hasNextPage is INTERNAL here, PUBLIC in another subgraph']);
  });

  it('classifies every field of the seven subgraphs as they are served, with known levels', () => {
    const hub = hubClassification();
    expect(hub.problems).toEqual([]);
    for (const domain of DOMAINS) {
      const own = classifyDocument(subgraphSdl(subgraphSchemaPath(domain)));
      expect(own.problems, domain).toEqual([]);
      expect(own.fields.size, domain).toBeGreaterThan(20);
    }
    for (const { level } of hub.fields.values()) expect(DATA_CLASSES).toContain(level);
    expect(hub.fields.get('Contact.email')).toEqual({ level: 'PII', mask: 'EMAIL' });
    expect(hub.fields.get('Contact.phone')).toEqual({ level: 'PII', mask: 'PHONE' });
  });

  it('names the PII fields with their output mask, whichever block comes first (REDACT when none has one)', () => {
    const { fields } = classifyDocument(`${DIRECTIVE}
      input PersonInput @classification(level: "INTERNAL") { email: String @classification(level: "PII") pin: String @classification(level: "PII") note: String }
      type Person @classification(level: "INTERNAL") { email: String @classification(level: "PII", mask: "EMAIL") note: String }`);
    expect(Object.fromEntries(piiNames({ fields, problems: [] }))).toEqual({ email: 'EMAIL', pin: 'REDACT' });
    // The hub's own: what the sync bookkeeping encrypts by name (crypto/bookkeeping.ts) and the audit marks.
    expect(Object.fromEntries(piiNames(hubClassification()))).toEqual({ email: 'EMAIL', phone: 'PHONE' });
  });

  it('strips the directive from a document served as API', () => {
    const doc = parse(
      `${DIRECTIVE} type A @classification(level: "INTERNAL") { id: ID! @classification(level: "PUBLIC") }`,
    );
    expect(print(withoutClassification(doc))).toBe('type A {\n  id: ID!\n}');
  });
});

describe('what derives from the classification', () => {
  const contact = { id: 'c1', customerId: 'cust_00001', badge: 'B-1234', phone: '+1 555 0100' };
  const resolvers = { Query: { contact: () => contact } };
  const build = (sdl: string) =>
    applyAuthorization(
      'customers',
      buildSubgraphSchema([
        { typeDefs: parse(`${HEADER}\n${sdl}`), resolvers: resolvers as GraphQLResolverMap<unknown> },
      ]),
    );
  const viewer = (roles: Role[], extra: Partial<ScopedViewer> = {}): ScopedViewer => ({
    tenantId: 'acme',
    userId: 'u1',
    roles,
    book: [],
    customerIds: ['cust_00001'],
    requestId: 'r1',
    ...extra,
  });
  const read = async (schema: GraphQL.GraphQLSchema, who: ScopedViewer) =>
    graphql({ schema, source: '{ contact { id badge } }', contextValue: { viewer: who } });

  it('a subgraph with an unclassified field does not start', () => {
    expect(() =>
      build(`type Contact { id: ID! } type Query @classification(level: "INTERNAL") { contact: Contact }`),
    ).toThrow(/subgraph customers: every field needs a data classification[\s\S]*Contact.id: no @classification/);
  });

  it('masks a field because the schema classifies it PII, with the mask it names, and only then', async () => {
    const sdl = (badge: string) => `
      type Contact @classification(level: "INTERNAL") { id: ID! customerId: ID! badge: String ${badge} }
      type Query @classification(level: "INTERNAL") { contact: Contact }`;
    const personal = build(sdl('@classification(level: "PII", mask: "REDACT")'));
    const plain = build(sdl(''));
    expect((await read(personal, viewer(['marketing']))).data).toEqual({ contact: { id: 'c1', badge: '***' } });
    expect((await read(personal, viewer(['admin']))).data).toEqual({ contact: { id: 'c1', badge: 'B-1234' } });
    expect((await read(plain, viewer(['marketing']))).data).toEqual({ contact: { id: 'c1', badge: 'B-1234' } });
    // A partner granted the field by name still never reads it once it is PII.
    const partner = viewer(['partner'], { grant: { fields: ['Query.contact', 'Contact.id', 'Contact.badge'] } });
    expect((await read(plain, partner)).data).toEqual({ contact: { id: 'c1', badge: 'B-1234' } });
    const refused = await read(personal, partner);
    expect(refused.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    expect(refused.data).toEqual({ contact: { id: 'c1', badge: null } });
  });
});
