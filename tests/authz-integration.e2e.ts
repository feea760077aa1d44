/**
 * The attack matrix of the `integration` role (issue 7): a tenant's service account that writes the
 * domains its token names. Generated for every domain x (domains named: that one / it and another /
 * every other one) x (own tenant / other tenant), against the whole hub as real processes over
 * Postgres — SQL is the oracle for every write — and for the role beside each human role. The role
 * matrix is restated in ./support/matrix.ts (`integrationWrites`), not imported from authz.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { REPO_ROOT } from '@hub/core/process';
import { createViewerSigner, type Role, type Viewer } from '@hub/core/viewer';
import { startHub, type Hub } from './support/hub.js';
import {
  at,
  codesOf,
  DOMAINS,
  expectRefused,
  informativeLeaves,
  integrationWrites,
  mayOnRow,
  named,
  OTHER,
  Oracle,
  postRaw,
  rowsOf,
  TARGET_KINDS,
  targetOf,
  TENANTS,
  VIEWERS,
  type Domain,
  type GqlResponse,
  type RolesSpec,
  type Tenant,
} from './support/matrix.js';
import { expectedList, expectListAnswer, LISTS, LOOKUPS, lookupId, PAGE } from './support/paths.js';
import { entitiesQuery, newTag, rawToken, WRITES, type WriteSpec } from './support/attacks.js';

let hub: Hub;
let oracle: Oracle;
const tokens = new Map<string, string>();

/** How the token's domains relate to the domain a case is about. */
type Naming = 'one' | 'several' | 'none-of';
const NAMINGS: readonly Naming[] = ['one', 'several', 'none-of'];

/** The domains a token names, for a case about `focus`: it alone, it and the next one, all but it. */
function domainsFor(focus: Domain, naming: Naming): Domain[] {
  const next = DOMAINS[(DOMAINS.indexOf(focus) + 1) % DOMAINS.length] as Domain;
  if (naming === 'one') return [focus];
  if (naming === 'several') return [focus, next];
  return DOMAINS.filter((d) => d !== focus);
}

interface IntegrationSpec {
  readonly tenant: Tenant;
  readonly focus: Domain;
  readonly naming: Naming;
  readonly domains: readonly Domain[];
  /** `integration@acme[product]`: names the case and keys the token. */
  readonly key: string;
}

const SPECS: readonly IntegrationSpec[] = TENANTS.flatMap((tenant) =>
  DOMAINS.flatMap((focus) =>
    NAMINGS.map((naming) => {
      const domains = domainsFor(focus, naming);
      return { tenant, focus, naming, domains, key: `integration@${tenant}[${domains.join(',')}]` };
    }),
  ),
);
/** One token per distinct (tenant, domains): `several` of one domain is `several` of no other. */
const DISTINCT = [...new Map(SPECS.map((spec) => [spec.key, spec])).values()];

/** Integration beside one human role: the pair's token names one domain; book roles keep book [u1]. */
interface PairSpec extends RolesSpec {
  readonly human: Role;
  readonly domain: Domain;
}
const PAIRS: readonly PairSpec[] = VIEWERS.flatMap((human) =>
  DOMAINS.map((domain) => ({
    human: human.role,
    domain,
    roles: ['integration', human.role] as Role[],
    book: human.role === 'cs_manager' || human.role === 'sales_rep' ? ['u1'] : [],
    sub: 'pair-int',
    key: `integration[${domain}]+${human.role}`,
  })),
);
/** The human role alone, as the restated matrix knows it (integration adds no row of its own to reads). */
const humanOnly = (pair: PairSpec): RolesSpec => ({ ...pair, roles: [pair.human], key: pair.human });

/** A write's mutation with another selection on the row it returns. */
const withSelection = (write: WriteSpec, selection: string) =>
  write.mutation.replace(/\{ [^{}]* \} \}$/, `{ ${selection} } }`);
/** What an integration may select on a written row: nothing but its type (and `id` where there is one). */
const BLIND = '__typename';
/** A field of each write's answer besides `id`, readable only by a role that reads the domain there. */
const ANSWER: Readonly<Record<string, string>> = {
  updateCustomer: 'id name',
  recordJourneyStage: 'currentStage',
  createOpportunity: 'id value',
  recordFeatureUsage: 'id usageCount',
  createInvoice: 'id amount',
  createTicket: 'id subject',
  recordHealthScore: 'score',
};

const pascal = (domain: Domain) => `${domain.slice(0, 1).toUpperCase()}${domain.slice(1)}`;
/**
 * Domains whose sync API has landed: the contract puts a domain's declaration in
 * subgraphs/<domain>/src/sync.ts and the engine derives `sync<Domain>` from it, so each domain joins
 * the matrix when its declaration does (checked against the API schema below).
 */
const SYNCED = DOMAINS.filter((domain) => existsSync(path.join(REPO_ROOT, 'subgraphs', domain, 'src', 'sync.ts')));

beforeAll(async () => {
  hub = await startHub();
  oracle = new Oracle(hub.database.url, hub.secrets.masterKey);
  for (const spec of DISTINCT) {
    tokens.set(
      spec.key,
      await hub.token({ tenant: spec.tenant, roles: ['integration'], sub: 'int1', domains: [...spec.domains] }),
    );
  }
  for (const pair of PAIRS) {
    tokens.set(
      pair.key,
      await hub.token({
        tenant: 'acme',
        roles: [...pair.roles],
        sub: pair.sub,
        book: [...pair.book],
        domains: [pair.domain],
      }),
    );
  }
  for (const tenant of TENANTS) {
    for (const spec of VIEWERS)
      tokens.set(
        `${spec.role}@${tenant}`,
        await hub.token({ tenant, roles: [spec.role], sub: spec.sub, book: [...spec.book] }),
      );
  }
});
afterAll(async () => {
  await oracle?.close();
  await hub?.stop();
});

function ask(key: string, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  const token = tokens.get(key);
  if (token === undefined) throw new Error(`no token ${key}`);
  return hub.query(query, variables, token) as Promise<GqlResponse>;
}

describe('integration writes: only the domains its token names, only in its own tenant', () => {
  const cases = SPECS.flatMap((spec) =>
    WRITES.filter((write) => write.domain === spec.focus).flatMap((write) =>
      (['own', 'other'] as const).map((where) => ({
        spec,
        write,
        where,
        name: `${spec.key} ${write.name} (${write.domain}, ${spec.naming}) for a customer of the ${where} tenant`,
      })),
    ),
  );
  it('covers every domain x naming x tenant x target tenant', () =>
    expect(cases).toHaveLength(DOMAINS.length * NAMINGS.length * TENANTS.length * 2));

  it.each(named(cases))('%s', async (_title, { spec, write, where }) => {
    const target = { tenant: where === 'own' ? spec.tenant : OTHER[spec.tenant] };
    const tag = newTag();
    const customerId = await oracle.customerWithRow(target.tenant, 'u1', null);
    const response = await ask(spec.key, withSelection(write, BLIND), write.variables(customerId, tag));
    if (integrationWrites(spec.domains, write.domain, spec.tenant, target)) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(await write.effect(oracle, tag)).toBe(1);
      return;
    }
    expect(await write.effect(oracle, tag), 'rows written').toBe(0);
    // Not named: refused by the write rule. Named but another tenant's customer: not found in its own.
    expectRefused(response, spec.domains.includes(write.domain) ? ['NOT_FOUND', 'FORBIDDEN'] : ['FORBIDDEN']);
    expect(response.data ?? null).toBeNull();
  });
});

describe('integration reads nothing of any domain', () => {
  const lists = DISTINCT.filter((spec) => spec.tenant === 'acme').flatMap((spec) =>
    LISTS.map((list) => ({ spec, list, name: `${spec.key} ${list.field}` })),
  );
  it.each(named(lists))('%s is FORBIDDEN', async (_title, { spec, list }) => {
    const response = await ask(
      spec.key,
      `{ ${list.field}(first: ${PAGE}) { totalCount edges { node { ${list.node} } } } }`,
    );
    expectRefused(response, ['FORBIDDEN'], list.field);
  });

  const lookups = DISTINCT.filter((spec) => spec.tenant === 'acme').flatMap((spec) =>
    LOOKUPS.flatMap((lookup) =>
      (['own:u1', 'foreign:u1'] as const).map((kind) => ({
        spec,
        lookup,
        kind,
        name: `${spec.key} ${lookup.field} of ${kind}`,
      })),
    ),
  );
  it.each(named(lookups))('%s is FORBIDDEN', async (_title, { spec, lookup, kind }) => {
    const target = targetOf(spec.tenant, kind);
    const id = await lookupId(oracle, lookup, target.tenant, target.owner);
    const response = await ask(spec.key, `query($id: ID!) { ${lookup.field}(id: $id) { ${lookup.select} } }`, { id });
    expectRefused(response, ['FORBIDDEN'], lookup.field);
  });

  /** The answer field, and the customer it belongs to (another subgraph's entity) where the type links one. */
  const selectionOf = (write: WriteSpec) =>
    `${ANSWER[write.name] ?? 'id'}${write.domain === 'customers' ? '' : ' customer { name }'}`;
  const answers = SPECS.filter((spec) => spec.tenant === 'acme' && spec.naming !== 'none-of').flatMap((spec) =>
    WRITES.filter((write) => write.domain === spec.focus).map((write) => ({
      spec,
      write,
      name: `${spec.key} ${write.name} { ${selectionOf(write)} }`,
    })),
  );
  it.each(named(answers))('%s: the write happens, the answer shows no more than the row id', async (_title, c) => {
    const tag = newTag();
    const customerId = await oracle.customerWithRow('acme', 'u1', null);
    const response = await ask(
      c.spec.key,
      withSelection(c.write, selectionOf(c.write)),
      c.write.variables(customerId, tag),
    );
    expect(await c.write.effect(oracle, tag)).toBe(1);
    expect(response.errors?.length ?? 0).toBeGreaterThan(0);
    for (const code of codesOf(response)) expect(code).toBe('FORBIDDEN');
    expect(informativeLeaves(response.data ?? null)).toEqual([]);
  });

  it.each(DISTINCT.filter((spec) => spec.tenant === 'acme').map((spec) => spec.key))(
    '%s: _entities at the gateway is not part of the API',
    async (key) => {
      const response = await ask(key, entitiesQuery('customers', ['cust_00001']));
      expect(response.status).toBe(400);
      expectRefused(response, ['GRAPHQL_VALIDATION_FAILED']);
    },
  );

  const direct = DOMAINS.flatMap((domain) =>
    NAMINGS.map((naming) => ({ domain, naming, domains: domainsFor(domain, naming), name: `${domain} (${naming})` })),
  );
  it.each(named(direct))(
    '_entities straight to the %s subgraph, signed for an acme integration viewer: no data',
    async (_title, { domain, domains }) => {
      const viewer: Viewer = {
        userId: 'int1',
        tenantId: 'acme',
        roles: ['integration'],
        domains,
        book: [],
        requestId: 'matrix',
      };
      const body = { query: entitiesQuery(domain, ['cust_00001', 'cust_00002', 'cust_00003']) };
      const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: hub.keys.gateway.privateKey });
      const response = await postRaw(hub.subgraphs[domain].url, body, {
        'x-hub-viewer': signer.sign(viewer, domain, body),
      });
      expect(response.status).toBe(200);
      // Refused fields, or (customers: no readable rows at all) null entities: never a value.
      for (const code of codesOf(response)) expect(code).toBe('FORBIDDEN');
      expect(informativeLeaves(response.data ?? null)).toEqual([]);
    },
  );

  const malformed: { name: string; viewer: Record<string, unknown> }[] = [
    { name: 'integration without domains', viewer: { roles: ['integration'] } },
    { name: 'integration with no domain', viewer: { roles: ['integration'], domains: [] } },
    { name: 'integration with an unknown domain', viewer: { roles: ['integration'], domains: ['billing'] } },
    { name: 'domains on an admin', viewer: { roles: ['admin'], domains: ['product'] } },
  ];
  const malformedCases = DOMAINS.flatMap((domain) =>
    malformed.map((m) => ({ ...m, domain, name: `${domain}: ${m.name}` })),
  );
  it.each(named(malformedCases))('a subgraph refuses a signed viewer with %s (401)', async (_title, c) => {
    const viewer = { userId: 'int1', tenantId: 'acme', book: [], customerIds: null, requestId: 'matrix', ...c.viewer };
    const body = { query: entitiesQuery(c.domain, ['cust_00001']) };
    const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: hub.keys.gateway.privateKey });
    const response = await postRaw(hub.subgraphs[c.domain].url, body, {
      'x-hub-viewer': signer.sign(viewer as unknown as Viewer, c.domain, body),
    });
    expect(response.status).toBe(401);
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('integration tokens the gateway refuses', () => {
  const claims: { name: string; claims: Record<string, unknown> }[] = [
    { name: 'no domains claim', claims: { roles: ['integration'] } },
    { name: 'an empty domains claim', claims: { roles: ['integration'], domains: [] } },
    { name: 'an unknown domain', claims: { roles: ['integration'], domains: ['product', 'billing'] } },
    { name: 'domains as a string', claims: { roles: ['integration'], domains: 'product' } },
    { name: 'domains on a cs_manager', claims: { roles: ['cs_manager'], domains: ['product'] } },
  ];
  it.each(named(claims))('%s -> 401 UNAUTHENTICATED, nothing written', async (_title, c) => {
    const token = await rawToken(hub.secrets.jwt, c.claims);
    const tag = newTag();
    const write = WRITES.find((w) => w.domain === 'product') as WriteSpec;
    const response = await postRaw(
      hub.gatewayUrl,
      { query: withSelection(write, BLIND), variables: write.variables('cust_00001', tag) },
      { authorization: `Bearer ${token}` },
    );
    expect(response.status).toBe(401);
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
    expect(await write.effect(oracle, tag)).toBe(0);
  });
});

describe('integration beside each human role: the writes of both, the reads of the human role alone', () => {
  it('covers the five human roles in every domain', () => expect(PAIRS).toHaveLength(5 * DOMAINS.length));

  const lists = PAIRS.flatMap((pair) =>
    LISTS.filter((list) => list.domain === pair.domain || list.domain === 'customers').map((list) => ({
      pair,
      list,
      name: `${pair.key} ${list.field}`,
    })),
  );
  it.each(named(lists))('%s: exactly what the human role reads', async (_title, { pair, list }) => {
    const response = await ask(
      pair.key,
      `{ ${list.field}(first: ${PAGE}) { totalCount edges { node { ${list.node} } } } }`,
    );
    const rows = rowsOf(humanOnly(pair), list.domain, 'read');
    if (rows === 'none') return expectRefused(response, ['FORBIDDEN'], list.field);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    const scope = rows === 'tenant' ? null : await oracle.customerIds('acme', pair.book);
    expectListAnswer(response, list, await expectedList(oracle, list, 'acme', scope));
  });

  const writes = PAIRS.flatMap((pair) =>
    WRITES.flatMap((write) =>
      TARGET_KINDS.map((kind) => ({
        pair,
        write,
        kind,
        name: `${pair.key} ${write.name} (${write.domain}) for ${kind}`,
      })),
    ),
  );
  it.each(named(writes))('%s: allowed where either role writes that row', async (_title, { pair, write, kind }) => {
    const target = targetOf('acme', kind);
    const tag = newTag();
    const customerId = await oracle.customerWithRow(target.tenant, target.owner, null);
    const response = await ask(pair.key, withSelection(write, BLIND), write.variables(customerId, tag));
    const allowed =
      integrationWrites([pair.domain], write.domain, 'acme', target) ||
      mayOnRow('acme', humanOnly(pair), write.domain, 'write', target);
    if (allowed) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(await write.effect(oracle, tag)).toBe(1);
      return;
    }
    expect(await write.effect(oracle, tag), 'rows written').toBe(0);
    expectRefused(response, ['FORBIDDEN', 'NOT_FOUND']);
  });

  const answers = PAIRS.flatMap((pair) =>
    WRITES.filter((write) => write.domain === pair.domain).flatMap((write) =>
      (['own:u1', 'own:u2'] as const).map((kind) => ({
        pair,
        write,
        kind,
        name: `${pair.key} ${write.name} answer for ${kind}`,
      })),
    ),
  );
  it.each(named(answers))('%s: shows the row only where the human role reads it', async (_title, c) => {
    const target = targetOf('acme', c.kind);
    const tag = newTag();
    const customerId = await oracle.customerWithRow('acme', target.owner, null);
    const response = await ask(
      c.pair.key,
      withSelection(c.write, ANSWER[c.write.name] ?? 'id'),
      c.write.variables(customerId, tag),
    );
    expect(await c.write.effect(oracle, tag)).toBe(1);
    if (mayOnRow('acme', humanOnly(c.pair), c.write.domain, 'read', target)) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(informativeLeaves(response.data).length).toBeGreaterThan(0);
      return;
    }
    expect(codesOf(response).length).toBeGreaterThan(0);
    for (const code of codesOf(response)) expect(code).toBe('FORBIDDEN');
    expect(informativeLeaves(response.data ?? null)).toEqual([]);
  });
});

describe('sync API: sync<Domain> for admins and the domain’s integration accounts only', () => {
  it('every domain with a sync declaration has its sync mutation in the API, and no other does', async () => {
    const response = await ask('admin@acme', '{ __type(name: "Mutation") { fields { name } } }');
    const fields = ((at(response.data, '__type', 'fields') as { name: string }[] | undefined) ?? []).map((f) => f.name);
    expect(DOMAINS.filter((domain) => fields.includes(`sync${pascal(domain)}`))).toEqual(SYNCED);
  });

  const batch = (domain: Domain) =>
    `mutation { sync${pascal(domain)}(events: []) { counts { applied rejected } results { outcome } } }`;
  const callers = SYNCED.flatMap((domain) => [
    ...NAMINGS.map((naming) => ({
      domain,
      key: `integration@acme[${domainsFor(domain, naming).join(',')}]`,
      may: naming !== 'none-of',
    })),
    ...VIEWERS.map((spec) => ({ domain, key: `${spec.role}@acme`, may: spec.role === 'admin' })),
  ]);
  it.each(named(callers.map((c) => ({ ...c, name: `${c.key} sync${pascal(c.domain)}` }))))('%s', async (_title, c) => {
    const response = await ask(c.key, batch(c.domain));
    if (c.may) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(at(response.data, `sync${pascal(c.domain)}`, 'results')).toEqual([]);
      return;
    }
    expectRefused(response, ['FORBIDDEN'], `sync${pascal(c.domain)}`);
  });

  const adminOnly = SYNCED.flatMap((domain) => [
    {
      domain,
      what: 'conflict override',
      query: `mutation { resolve${pascal(domain)}Conflict(id: "c1", pick: INCOMING) { outcome } }`,
      field: `resolve${pascal(domain)}Conflict`,
    },
    {
      domain,
      what: 'a job run',
      query: `mutation { run${pascal(domain)}Job(job: "integration-health") { id } }`,
      field: `run${pascal(domain)}Job`,
    },
  ]);
  it.each(named(adminOnly.map((c) => ({ ...c, name: `an integration account of ${c.domain}: ${c.what}` }))))(
    '%s is FORBIDDEN',
    async (_title, c) => {
      const response = await ask(`integration@acme[${c.domain}]`, c.query);
      expectRefused(response, ['FORBIDDEN'], c.field);
    },
  );
});

/**
 * The sync bookkeeping a domain's integration team reads (issue 12): each field of `sync { <domain> }`,
 * for every synced domain x every naming x both tenants, and for each human role of both tenants.
 * `team` fields are the domain's integration accounts' and admins'; the rest admins' only.
 */
const BOOKKEEPING: readonly { field: string; selection: string; team: boolean }[] = [
  { field: 'status', selection: 'status { domain eventsPerSecond outboxBacklog }', team: true },
  { field: 'deadLetters', selection: 'deadLetters { totalCount edges { node { id source payload } } }', team: true },
  { field: 'syncConflicts', selection: 'syncConflicts { totalCount edges { node { id storedValue } } }', team: true },
  { field: 'dataQuality', selection: 'dataQuality { records score accuracy { value target } }', team: true },
  { field: 'jobs', selection: 'jobs { name }', team: true },
  { field: 'jobRuns', selection: 'jobRuns { totalCount edges { node { id status } } }', team: true },
  { field: 'integrationHealth', selection: 'integrationHealth { totalCount }', team: true },
  { field: 'auditTrail', selection: 'auditTrail(customerId: "cust_00001") { totalCount }', team: false },
  { field: 'eventDeadLetters', selection: 'eventDeadLetters { totalCount }', team: false },
  { field: 'anomalies', selection: 'anomalies { totalCount }', team: false },
  { field: 'reconciliation', selection: 'reconciliation { checked }', team: false },
];

describe('sync bookkeeping: the domain’s integration accounts read their domains’ own, never governance', () => {
  const cases = SYNCED.flatMap((domain) =>
    BOOKKEEPING.flatMap((item) => [
      ...TENANTS.flatMap((tenant) =>
        NAMINGS.map((naming) => ({
          domain,
          item,
          key: `integration@${tenant}[${domainsFor(domain, naming).join(',')}]`,
          may: item.team && naming !== 'none-of',
        })),
      ),
      ...TENANTS.flatMap((tenant) =>
        VIEWERS.map((spec) => ({ domain, item, key: `${spec.role}@${tenant}`, may: spec.role === 'admin' })),
      ),
    ]),
  ).map((c) => ({ ...c, name: `${c.key} sync { ${c.domain} { ${c.item.field} } }` }));
  it('covers every synced domain x field x (integration namings + human roles) x tenant', () =>
    expect(cases).toHaveLength(
      SYNCED.length * BOOKKEEPING.length * TENANTS.length * (NAMINGS.length + VIEWERS.length),
    ));

  it.each(named(cases))('%s', async (_title, c) => {
    const response = await ask(c.key, `{ sync { ${c.domain} { ${c.item.selection} } } }`);
    if (c.may) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(at(response.data, 'sync', c.domain, c.item.field)).toBeDefined();
      return;
    }
    expectRefused(response, ['FORBIDDEN']);
    expect(informativeLeaves(response.data ?? null)).toEqual([]);
  });

  // Rows of the tenant: a dead letter of acme's product integration is acme's alone. Its account
  // replays it; another source's letter, another tenant's, another domain's account may not.
  const SYNC_PRODUCT = `mutation Sync($events: [ProductSyncEventInput!]!) {
    syncProduct(events: $events) { results { outcome deadLetterId } } }`;
  const refusedUsage = (customerId: string) => ({
    usageAnalyticsSync: {
      customerId,
      usagePeriod: '2020-03-01_to_2020-03-28',
      featureUsage: {
        coreFeatures: [{ feature: 'email_campaigns', usageCount: 45, adoptionScore: 0.85, successCorrelation: 0.92 }],
        advancedFeatures: [],
      },
      adoptionMetrics: {
        overallAdoptionRate: 0.7,
        featureDiscoveryRate: 0.45,
        activationTime: 'soon',
        maturityLevel: 'intermediate',
      },
      successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
      syncTimestamp: '2020-03-02T08:00:00Z',
    },
  });
  // Distinct customers: one idempotency key would make both refusals one waiting letter.
  const letterOf = async (key: string, customerId: string) => {
    const response = await ask(key, SYNC_PRODUCT, { events: [refusedUsage(customerId)] });
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    const [result] = at(response.data, 'syncProduct', 'results') as { outcome: string; deadLetterId: string }[];
    expect(result?.outcome).toBe('REJECTED');
    return result?.deadLetterId ?? '';
  };
  const letters = async (key: string) => {
    const response = await ask(
      key,
      '{ sync { product { deadLetters(first: 100) { edges { node { id source } } } } } }',
    );
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    return (
      at(response.data, 'sync', 'product', 'deadLetters', 'edges') as { node: { id: string; source: string } }[]
    ).map((e) => e.node);
  };
  const replay = (key: string, id: string) => ask(key, `mutation { replayProductDeadLetter(id: "${id}") { outcome } }`);

  it.runIf(SYNCED.includes('product'))(
    'product: tenant rows only; an integration account replays its own dead letters, no one else’s',
    async () => {
      const own = await letterOf('integration@acme[product]', 'cust_00001');
      const admins = await letterOf('admin@acme', 'cust_00002');
      expect(own).not.toBe(admins);
      const acme = await letters('integration@acme[product]');
      expect(acme).toContainEqual({ id: own, source: 'int1' });
      expect(acme.map((l) => l.id)).toContain(admins);
      for (const key of ['integration@globex[product]', 'admin@globex']) {
        const theirs = (await letters(key)).map((l) => l.id);
        expect(theirs).not.toContain(own);
        expect(theirs).not.toContain(admins);
      }
      // Another tenant's letter does not exist for it; another domain's account may not replay.
      expectRefused(await replay('integration@globex[product]', own), ['NOT_FOUND'], 'replayProductDeadLetter');
      const elsewhere = `integration@acme[${domainsFor('product', 'none-of').join(',')}]`;
      expectRefused(await replay(elsewhere, own), ['FORBIDDEN'], 'replayProductDeadLetter');
      for (const human of VIEWERS.filter((v) => v.role !== 'admin'))
        expectRefused(await replay(`${human.role}@acme`, own), ['FORBIDDEN'], 'replayProductDeadLetter');
      // Another source's letter (the admin's): replaying it would write as that source.
      expectRefused(await replay('integration@acme[product]', admins), ['FORBIDDEN'], 'replayProductDeadLetter');
      // Its own letter, as stored: still refused by the pipeline (REJECTED), but replayed by it.
      const again = await replay('integration@acme[product]', own);
      expect(again.errors, JSON.stringify(again.errors)).toBeUndefined();
      expect(at(again.data, 'replayProductDeadLetter', 'outcome')).toBe('REJECTED');
      const replayed = await replay('admin@acme', admins);
      expect(replayed.errors, JSON.stringify(replayed.errors)).toBeUndefined();
    },
  );
});
