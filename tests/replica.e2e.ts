/**
 * Each domain knows its customers locally (issue 8 item 5): the whole hub as real processes, on the
 * embedded bus and on NATS JetStream. Books of 1, 700 and 5,000 customers and a partner grant of
 * 1,000 work through every read path (root fields, nested fields, `_entities` in every domain) and a
 * write; the signed viewer header stays the same small size whatever the book; a customer created,
 * reassigned or deleted reaches every domain's rules within REPLICA_BOUND_MS (README, "Authentication
 * and authorization"), and so does a revoked grant.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { REPLICA_BOUND_MS } from '@hub/core/replica';
import { createViewerSigner, type Viewer } from '@hub/core/viewer';
import { entitiesQuery } from './support/attacks.js';
import { startHub, type Hub, type HubOptions } from './support/hub.js';
import { DOMAINS, postRaw, type Domain } from './support/matrix.js';
import { persistedOperation } from './support/persisted.js';
import { startRecordingProxy, type RecordingProxy } from './support/proxy.js';

const SIZES = [1, 700, 5000] as const;
const GRANT_SIZE = 1000;
const ownerOf = (size: number) => `book${size}`;
const idOf = (size: number, i: number) => `cust_r${size}_${String(i).padStart(5, '0')}`;
const idsOf = (size: number) => Array.from({ length: size }, (_, i) => idOf(size, i + 1));

/** Every domain's view of one book's customers, a page of 100 at a time, through the gateway. */
const BOOK_PAGE = `query BookPage($after: String) {
  customers(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id ownerId
      opportunities(first: 1) { totalCount } renewal { renewalProbability }
      health { score } usage { id } journey { currentStage }
      tickets(first: 1) { totalCount } finance { revenueAttribution { currentArr } } } }
  }
}`;

type Page = {
  customers: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; ownerId: string; opportunities: { totalCount: number } } }[];
  };
};

function replicaSuite(name: string, options: HubOptions) {
  describe(name, () => {
    let hub: Hub;
    let sales: RecordingProxy;
    let admin: string;

    /** A cs_manager's (or `as`) signed `_entities` fetch straight to `domain`: does the domain's rule let `book` see `id`? */
    async function sees(domain: Domain, book: string, id: string, as: Partial<Viewer> = {}): Promise<boolean> {
      const viewer: Viewer = {
        userId: 'probe',
        tenantId: 'acme',
        roles: ['cs_manager'],
        book: [book],
        requestId: 'probe',
        ...as,
      };
      const body = { query: entitiesQuery(domain, [id]) };
      const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: hub.keys.gateway.privateKey });
      const response = await postRaw(hub.subgraphs[domain].url, body, {
        'x-hub-viewer': signer.sign(viewer, domain, body),
      });
      if (response.errors?.some((error) => error.extensions?.['code'] !== 'FORBIDDEN'))
        throw new Error(`${domain}: ${JSON.stringify(response.errors)}`);
      const entity = (response.data?.['_entities'] as unknown[] | undefined)?.[0] ?? null;
      return response.errors === undefined && entity !== null;
    }

    /** Milliseconds until `holds` is true in every domain (polled every 10 ms; fails past `limitMs`). */
    async function timeUntil(holds: (domain: Domain) => Promise<boolean>, limitMs = 10_000): Promise<number> {
      const started = Date.now();
      const pending = new Set(DOMAINS);
      while (pending.size > 0) {
        if (Date.now() - started > limitMs)
          throw new Error(`not reflected in ${[...pending].join(', ')} after ${limitMs} ms`);
        const results = await Promise.all([...pending].map(async (d) => [d, await holds(d)] as const));
        for (const [domain, ok] of results) if (ok) pending.delete(domain);
        if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return Date.now() - started;
    }

    /** Every object type of the public graph (a grant naming them all reads every field of its rows). */
    async function objectTypes(): Promise<string[]> {
      const res = await hub.query<{ __schema: { types: { name: string; kind: string }[] } }>(
        '{ __schema { types { name kind } } }',
        {},
        admin,
      );
      const types = res.data?.__schema.types ?? [];
      return types
        .filter(
          (t) => t.kind === 'OBJECT' && !t.name.startsWith('__') && !/^(Query|Mutation|Subscription)$/.test(t.name),
        )
        .map((t) => t.name);
    }

    beforeAll(async () => {
      sales = await startRecordingProxy();
      hub = await startHub({
        ...options,
        urlOf: (domain, url) => {
          if (domain !== 'sales') return url;
          sales.target = url;
          return sales.url;
        },
      });
      admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
      // 5,701 customers in three books, through the customers sync API (every one an event on the stream).
      const customers = SIZES.flatMap((size) => idsOf(size).map((id) => ({ id, ownerId: ownerOf(size) })));
      const syncTimestamp = new Date().toISOString();
      // Batches of 250 keep each under the gateway's subgraph timeout while six replicas are busy
      // applying the previous ones; a batch that timed out is sent again (its events' idempotency
      // keys make the repeat DUPLICATE, never a second write).
      for (let i = 0; i < customers.length; i += 250) {
        const events = customers.slice(i, i + 250).map((c) => ({
          customerRecordSync: { customerId: c.id, name: `Replica ${c.id}`, ownerId: c.ownerId, syncTimestamp },
        }));
        for (let attempt = 1; ; attempt++) {
          const res = await hub.query<{ syncCustomers: { counts: { applied: number; duplicate: number } } }>(
            'mutation($events: [CustomersSyncEventInput!]!) { syncCustomers(events: $events) { counts { applied duplicate } } }',
            { events },
            admin,
          );
          if (res.errors && attempt < 3) continue;
          expect(res.errors).toBeUndefined();
          const counts = res.data?.syncCustomers.counts;
          expect((counts?.applied ?? 0) + (counts?.duplicate ?? 0)).toBe(events.length);
          break;
        }
      }
      // Every replica has applied the last of them (six consumers applying 5,701 events each).
      const caughtUp = await timeUntil((domain) => sees(domain, ownerOf(5000), idOf(5000, 5000)), 400_000);
      console.log(`[replica e2e ${name}] 5,701 imported customers in every replica after ${caughtUp} ms`);
    }, 600_000);

    afterAll(async () => {
      await hub?.stop();
      await sales?.stop();
    });

    it.each(SIZES)(
      'a book of %i customers reads every domain (root, nested, _entities) and writes, with a header that does not grow',
      async (size) => {
        const token = await hub.token({
          tenant: 'acme',
          roles: ['cs_manager'],
          sub: `m${size}`,
          book: [ownerOf(size)],
        });
        // A write naming a customer of the book: sales checks it exists in its own replica.
        const write = await hub.query(
          `mutation($c: ID!) { createOpportunity(input: { customerId: $c, ownerId: "${ownerOf(size)}", type: UPSELL, value: "10.00", probability: 0.5, timeline: "q1_2027" }) { id } }`,
          { c: idOf(size, 1) },
          token,
        );
        expect(write.errors).toBeUndefined();
        const fromHere = sales.captured.length;
        const seen: string[] = [];
        let after: string | null = null;
        let opportunities = 0;
        for (;;) {
          const res: Awaited<ReturnType<Hub['query']>> = await hub.query<Page>(BOOK_PAGE, { after }, token);
          expect(res.errors, JSON.stringify(res.errors?.slice(0, 2))).toBeUndefined();
          const page: Page['customers'] | undefined = (res.data as Page | null | undefined)?.customers;
          if (!page) throw new Error('no page');
          expect(page.totalCount).toBe(size);
          for (const { node } of page.edges) {
            seen.push(node.id);
            opportunities += node.opportunities.totalCount;
          }
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(seen.sort()).toEqual(idsOf(size));
        expect(opportunities).toBe(1);
        // Root fields of a replicated domain, and a customer outside the book.
        const root = await hub.query<{ opportunities: { totalCount: number } }>(
          '{ opportunities(first: 1) { totalCount } }',
          {},
          token,
        );
        expect(root.errors).toBeUndefined();
        expect(root.data?.opportunities.totalCount).toBe(1);
        const outside = await hub.query(
          '{ customer(id: "cust_00001") { id opportunities(first: 1) { totalCount } } }',
          {},
          token,
        );
        expect(outside.data).toEqual({ customer: null });
        // What the gateway signed for sales, per request of this book: who the viewer is, never its rows.
        const headers = sales.captured.slice(fromHere).map((c) => c.headers['x-hub-viewer'] ?? '');
        expect(headers.length).toBeGreaterThan(0);
        const longest = Math.max(...headers.map((h) => h.length));
        console.log(
          `[replica e2e ${name}] book of ${size}: x-hub-viewer ${longest} bytes (${headers.length} sales fetches)`,
        );
        expect(longest).toBeLessThan(2048);
        headerSizes.set(size, longest);
      },
      300_000,
    );

    const headerSizes = new Map<number, number>();
    it('the header size is constant across book sizes', () => {
      const sizes = SIZES.map((size) => headerSizes.get(size) ?? -1);
      expect(sizes.every((n) => n > 0)).toBe(true);
      // The only claim that differs is the owner id (`book1` .. `book5000`): a few bytes, not the book.
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(16);
    });

    it('a partner grant of 1,000 customers reads them all, and a revoked grant reads nothing within the bound', async () => {
      const granted = idsOf(5000).slice(0, GRANT_SIZE);
      const created = await hub.query<{ createApiKey: { secret: string } }>(
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }',
        {
          input: {
            name: 'replica partner',
            app: 'partner-portal',
            customerIds: granted,
            fields: ['Query.customers', 'Query.customer', ...(await objectTypes()).map((type) => `${type}.*`)],
          },
        },
        admin,
      );
      expect(created.errors).toBeUndefined();
      const secret = created.data?.createApiKey.secret ?? '';
      const run = (name: string, variables: Record<string, unknown>) =>
        postRaw(
          hub.gatewayUrl,
          { variables, extensions: { persistedQuery: { version: 1, sha256Hash: persistedOperation(name).id } } },
          { 'x-api-key': secret },
        );
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const res = await run('PartnerCustomers', { first: 100, after });
        expect(res.errors, JSON.stringify(res.errors?.slice(0, 2))).toBeUndefined();
        const page = (res.data as Page | undefined)?.customers;
        if (!page) throw new Error('no page');
        expect(page.totalCount).toBe(GRANT_SIZE);
        seen.push(...page.edges.map((edge) => edge.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen.sort()).toEqual(granted);
      expect((await run('PartnerCustomer', { id: idOf(5000, 1001) })).data).toEqual({ customer: null });

      const keyId = (
        await hub.query<{ apiKeys: { edges: { node: { id: string; name: string } }[] } }>(
          '{ apiKeys(first: 500) { edges { node { id name } } } }',
          {},
          admin,
        )
      ).data?.apiKeys.edges.find((edge) => edge.node.name === 'replica partner')?.node.id;
      // Revocation, timed straight at every subgraph with a one-customer key (a probe under a grant of
      // 1,000 costs each domain far more than the propagation it would measure): the grant's customer
      // is the partner's row in every domain's rules, and no more once the key is revoked.
      const small = await hub.query<{ createApiKey: { apiKey: { id: string } } }>(
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
        {
          input: {
            name: 'replica partner small',
            app: 'partner-portal',
            customerIds: [granted[0]],
            fields: (await objectTypes()).map((type) => `${type}.*`),
          },
        },
        admin,
      );
      const smallId = small.data?.createApiKey.apiKey.id ?? '';
      const partner = { roles: ['partner' as const], book: [], grantId: smallId, app: 'partner-portal' };
      await timeUntil((domain) => sees(domain, '', granted[0] ?? '', partner));
      const revokedSmall = await hub.query(
        'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
        { id: smallId },
        admin,
      );
      expect(revokedSmall.errors).toBeUndefined();
      const gone = await timeUntil(async (domain) => !(await sees(domain, '', granted[0] ?? '', partner)));
      console.log(`[replica e2e ${name}] revoked grant reflected in all 7 domains after ${gone} ms`);
      expect(gone).toBeLessThan(REPLICA_BOUND_MS);
      // The big key, revoked too, reads nothing through the gateway (which may still accept it: its 30 s cache).
      const revoked = await hub.query('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: keyId }, admin);
      expect(revoked.errors).toBeUndefined();
      const big = { ...partner, grantId: keyId ?? '' };
      await timeUntil(async (domain) => !(await sees(domain, '', granted[0] ?? '', big)));
      const afterRevoke = await run('PartnerCustomers', { first: 1 });
      expect(afterRevoke.status === 401 || (afterRevoke.data ?? null) === null).toBe(true);
    });

    it('a customer created, reassigned and deleted is reflected in every domain’s rules within the bound', async () => {
      const [a, b] = [`own_${randomBytes(3).toString('hex')}`, `own_${randomBytes(3).toString('hex')}`];
      const create = await hub.query<{ createCustomer: { id: string } }>(
        `mutation { createCustomer(input: { name: "Fresh Ltd", ownerId: "${a}" }) { id } }`,
        {},
        admin,
      );
      const id = create.data?.createCustomer.id ?? '';
      expect(id).toMatch(/^cust_/);
      const created = await timeUntil((domain) => sees(domain, a, id));
      // A write naming it right away, in another domain, waits for the replica instead of refusing.
      const write = await hub.query(
        `mutation($c: ID!) { createOpportunity(input: { customerId: $c, ownerId: "${a}", type: UPSELL, value: "1.00", probability: 0.5, timeline: "q1_2027" }) { id } }`,
        { c: id },
        admin,
      );
      expect(write.errors).toBeUndefined();

      const assign = await hub.query(
        `mutation($c: ID!) { assignOwner(input: { customerId: $c, ownerId: "${b}", role: CSM }) { id } }`,
        { c: id },
        admin,
      );
      expect(assign.errors).toBeUndefined();
      const reassigned = await timeUntil(async (domain) => (await sees(domain, b, id)) && !(await sees(domain, a, id)));

      const deleted = await hub.query('mutation($c: ID!) { deleteCustomer(id: $c) { id } }', { c: id }, admin);
      expect(deleted.errors).toBeUndefined();
      const gone = await timeUntil(async (domain) => !(await sees(domain, b, id)));
      // Every domain refuses writes for it now (its replica is caught up: NOT_FOUND, not retryable).
      const late = await hub.query(
        `mutation($c: ID!) { createOpportunity(input: { customerId: $c, ownerId: "${b}", type: UPSELL, value: "1.00", probability: 0.5, timeline: "q1_2027" }) { id } }`,
        { c: id },
        admin,
      );
      expect(late.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');

      console.log(
        `[replica e2e ${name}] reflected in all 7 domains: created ${created} ms, reassigned ${reassigned} ms, deleted ${gone} ms`,
      );
      for (const ms of [created, reassigned, gone]) expect(ms).toBeLessThan(REPLICA_BOUND_MS);
    });
  });
}

replicaSuite('customer replica on the embedded bus', {});
replicaSuite('customer replica on NATS JetStream', {
  subgraphEnv: {
    NATS_URL: process.env['HUB_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
    HUB_NATS_PREFIX: `REPL${randomBytes(4).toString('hex').toUpperCase()}`,
  },
});
