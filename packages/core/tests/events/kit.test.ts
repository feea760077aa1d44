/**
 * The kit runs a domain's consumers in its process: the customers and health subgraphs as real HTTP
 * servers on one PostgreSQL database, health consuming the customers stream over the embedded bus
 * (customers' `_events`, long-polled and signed with health's service key). `_events` answers only
 * other subgraphs and the gateway's `system` principal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubgraph, type RunningSubgraph, type SubgraphDefinition } from '../../src/subgraph.js';
import { acme, createTestDatabase, gql, registerTestSubgraph, type TestDatabase } from '../../src/testing.js';
import { defineConsumer } from '../../src/events/types.js';
import { subgraphConfigFromEnv } from '../../src/subgraph.js';
import { STREAM_TENANT } from '../../src/events/remote.js';
import { systemViewer } from '../../src/viewer.js';
import { countOf, waitFor } from './harness.js';

let database: TestDatabase;
let customers: RunningSubgraph;
let health: RunningSubgraph;

const seen = defineConsumer({
  name: 'health.kit-test',
  from: 'customers',
  types: ['customers.create_customer'],
  source: 'kit-test',
  async handle({ event, tx }) {
    await tx.execute(
      `INSERT INTO "test_seen" ("event_id", "customer_id", "cursor") VALUES ($1::uuid, $2, $3::bigint)`,
      [event.id, event.customerId, event.cursor],
    );
  },
});

async function definitionOf(domain: string): Promise<SubgraphDefinition<unknown, unknown>> {
  const specifier = `@hub/subgraph-${domain}/src/server.ts`;
  return ((await import(specifier)) as { subgraph: SubgraphDefinition<unknown, unknown> }).subgraph;
}

beforeAll(async () => {
  database = await createTestDatabase('hub_t_kit');
  const common = { port: 0, seedDemo: false, migrate: true, logLevel: 'warn' };
  // The demo roster gives the tenants (customers need one); its rows are seeded without events.
  customers = await startSubgraph(await definitionOf('customers'), {
    ...common,
    seedDemo: true,
    store: { kind: 'postgres', url: database.url, schema: 'customers' },
  });
  const urls = { ...subgraphConfigFromEnv('health').subgraphUrls, customers: customers.url };
  const healthDef = await definitionOf('health');
  // The consumer's table exists before its first event: create it through a first store open.
  health = await startSubgraph(
    { ...healthDef, consumers: [seen] },
    {
      ...common,
      store: { kind: 'postgres', url: database.url, schema: 'health' },
      customersUrl: customers.url,
      subgraphUrls: urls,
    },
  );
  await health.store.sql.query(
    `CREATE TABLE "test_seen" ("n" BIGSERIAL PRIMARY KEY, "event_id" UUID NOT NULL, "customer_id" TEXT, "cursor" BIGINT NOT NULL)`,
  );
  registerTestSubgraph(customers.url, 'customers');
  registerTestSubgraph(health.url, 'health');
}, 180_000);

afterAll(async () => {
  await health?.stop();
  await customers?.stop();
  await database?.drop();
});

describe('consumers in the subgraph kit (embedded bus over HTTP)', () => {
  it('a customer created in the customers subgraph reaches the health consumer once, in order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await gql<{ createCustomer: { id: string } }>(
        customers.url,
        'mutation($name: String!) { createCustomer(input: { name: $name, ownerId: "u1" }) { id } }',
        { name: `Kit ${i}` },
        acme,
      );
      expect(JSON.stringify(res.errors)).toBeUndefined();
      ids.push(res.data?.createCustomer.id ?? '');
    }
    await waitFor('six events consumed', async () =>
      (await countOf(health.store.sql, `SELECT count(*) AS n FROM "test_seen"`)) >= 6 ? true : undefined,
    );
    const rows = await health.store.sql.query<{ customer_id: string; cursor: string }>(
      `SELECT "customer_id", "cursor"::text FROM "test_seen" ORDER BY "n"`,
    );
    expect(rows.map((r) => r.customer_id)).toEqual(ids);
    expect(rows.map((r) => Number(r.cursor))).toEqual(rows.map((r) => Number(r.cursor)).sort((a, b) => a - b));
    const [cursor] = await health.store.sql.query<{ cursor: string }>(
      `SELECT "cursor" FROM "hub_event_cursor" WHERE "consumer" = 'health.kit-test' AND "stream" = 'customers'`,
    );
    expect(cursor?.cursor).toBe(rows.at(-1)?.cursor);
  });

  it('_events refuses the gateway’s viewers (even an admin) and unsigned calls', async () => {
    const asAdmin = await gql(customers.url, '{ _events(limit: 1) { cursor } }', {}, acme);
    expect(asAdmin.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(asAdmin.data?._events ?? null).toBeNull();
    const unsigned = await gql(customers.url, '{ _events(limit: 1) { cursor } }', {}, null);
    expect(unsigned.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('_events answers the gateway’s own system principal (the subscription fan-out of issue 9)', async () => {
    const res = await gql<{ _events: { cursor: string; events: { type: string }[] } }>(
      customers.url,
      '{ _events(limit: 100) { cursor events { type } } }',
      {},
      systemViewer('kit-test-gateway', STREAM_TENANT),
    );
    expect(res.errors).toBeUndefined();
    expect(
      res.data?._events.events.filter((e) => e.type === 'customers.create_customer').length,
    ).toBeGreaterThanOrEqual(6);
  });
});
