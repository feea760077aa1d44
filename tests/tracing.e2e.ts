/**
 * OpenTelemetry traces across the hub (packages/core/src/tracing.ts): the whole hub as real
 * processes exporting to a real OTLP/HTTP receiver in this test. One trace per request from the
 * gateway through every subgraph it calls down to each SQL statement; no bound value in any span;
 * a gateway without an endpoint sends nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '@hub/core/domains';
import { REQUEST_ID_HEADER } from '@hub/core/viewer';
import { startHub, type Hub } from './support/hub.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp.js';
import { BRIEF_USAGE_ANALYTICS } from '../gateway/tests/syncFixtures.js';

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

let hub: Hub;
let receiver: OtlpReceiver;
let admin: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
  hub = await startHub({ gatewayEnv: tracing, subgraphEnv: tracing });
  admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'u1' });
});
afterAll(async () => {
  await hub?.stop();
  await receiver?.close();
});

/** POSTs to the gateway with extra headers; the answer with the request id the gateway gave it. */
async function ask(
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{
  requestId: string;
  body: { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] };
}> {
  const response = await fetch(hub.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const requestId = response.headers.get(REQUEST_ID_HEADER);
  if (!requestId) throw new Error('no request id in the answer');
  return { requestId, body: (await response.json()) as never };
}

const gatewayServerSpan = (spans: ReceivedSpan[], requestId: string) =>
  spans.find((s) => s.service === 'gateway' && s.kind === SERVER && s.attributes['hub.request_id'] === requestId);

/** Every span of the trace the gateway started for `requestId`, once `ready` holds for them. */
async function traceOf(requestId: string, ready: (trace: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  let trace: ReceivedSpan[] = [];
  await receiver.waitFor((spans) => {
    const root = gatewayServerSpan(spans, requestId);
    trace = root ? spans.filter((s) => s.traceId === root.traceId) : [];
    return root !== undefined && ready(trace);
  });
  return trace;
}

const serverOf = (trace: ReceivedSpan[], domain: Domain) =>
  trace.find((s) => s.service === `subgraph-${domain}` && s.kind === SERVER);

const OVERVIEW = /* GraphQL */ `
  query TracedOverview($first: Int!) {
    customers(first: $first) {
      edges {
        node {
          id
          name
          contacts(first: 2) {
            edges {
              node {
                email
              }
            }
          }
          health {
            score
          }
          opportunities(first: 2) {
            edges {
              node {
                value
              }
            }
          }
          adoption {
            overallAdoptionRate
          }
        }
      }
    }
  }
`;
const CALLED: Domain[] = ['customers', 'health', 'sales', 'product'];

describe('traces', () => {
  it('follow one request from the gateway through each subgraph fetch to every SQL statement, in one trace', async () => {
    const { requestId, body } = await ask(OVERVIEW, { first: 5 });
    expect(body.errors).toBeUndefined();
    const trace = await traceOf(requestId, (t) =>
      CALLED.every((d) => {
        const server = serverOf(t, d);
        return server !== undefined && t.some((s) => s.parentSpanId === server.spanId && s.kind === CLIENT);
      }),
    );
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const root = gatewayServerSpan(trace, requestId);
    expect(root).toMatchObject({
      name: 'query TracedOverview',
      parentSpanId: undefined,
      attributes: {
        'graphql.operation.name': 'TracedOverview',
        'graphql.operation.type': 'query',
        'hub.request_id': requestId,
        'http.response.status_code': 200,
      },
    });
    const descendsFrom = (span: ReceivedSpan, ancestor: ReceivedSpan): boolean => {
      for (let s = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; s;) {
        if (s.spanId === ancestor.spanId) return true;
        s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      }
      return false;
    };
    for (const domain of CALLED) {
      // The subgraph's server span continues the gateway's span of a fetch to that subgraph...
      const server = serverOf(trace, domain);
      const fetch = server?.parentSpanId ? byId.get(server.parentSpanId) : undefined;
      expect(fetch, domain).toMatchObject({
        service: 'gateway',
        kind: CLIENT,
        name: `subgraph ${domain}`,
        attributes: { 'hub.subgraph.name': domain, 'http.response.status_code': 200, 'hub.subgraph.outcome': 'ok' },
      });
      // ...which lies under the gateway's request span.
      expect(descendsFrom(fetch as ReceivedSpan, root as ReceivedSpan), domain).toBe(true);
      expect(server?.attributes['hub.request_id'], domain).toBe(requestId);
      // Each SQL statement is a client span right under the subgraph's server span (no resolver spans).
      const statements = trace.filter((s) => s.service === `subgraph-${domain}` && s.kind === CLIENT);
      expect(statements.length, domain).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.parentSpanId, domain).toBe(server?.spanId);
        expect(statement.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.namespace': domain });
        expect(String(statement.attributes['db.query.text'])).toMatch(/^\s*\w+/);
      }
    }
    // The contacts' table is read with its statement text, bound values as placeholders.
    const contacts = trace.find(
      (s) => s.service === 'subgraph-customers' && s.attributes['db.collection.name'] === 'Contact',
    );
    expect(contacts?.name).toBe('SELECT Contact');
    expect(String(contacts?.attributes['db.query.text'])).toContain('$1');
    // Every gateway fetch of this request has its span: one per subgraph called, none unaccounted.
    const fetches = trace.filter((s) => s.service === 'gateway' && s.kind === CLIENT);
    expect(new Set(fetches.map((s) => s.attributes['hub.subgraph.name']))).toEqual(new Set(CALLED));
  });

  it('records no bound value: a contact written and read by email leaves the email in no exported span', async () => {
    const email = `trace.${randomBytes(6).toString('hex')}@example.test`;
    const phone = `+1 555 ${String(1000 + Math.floor(Math.random() * 8999))}`;
    const list = await ask('query { customers(first: 1) { edges { node { id } } } }', {});
    const customerId = (list.body.data as { customers: { edges: { node: { id: string } }[] } }).customers.edges[0]?.node
      .id;
    const created = await ask(
      `mutation TracedContact($input: CreateContactInput!) { createContact(input: $input) { id email } }`,
      { input: { customerId, firstName: 'Grace', lastName: 'Hopper', email, phone } },
    );
    expect(created.body.errors).toBeUndefined();
    const write = await traceOf(created.requestId, (t) =>
      t.some((s) => s.service === 'subgraph-customers' && /^INSERT/.test(String(s.attributes['db.query.text']))),
    );
    const insert = write.find((s) => s.service === 'subgraph-customers' && s.name === 'INSERT Contact');
    expect(insert?.attributes['db.query.text']).toMatch(/\$\d/);
    // The write went through the sync pipeline: its batch is a span under the request, the statements under it.
    const batch = write.find((s) => s.spanId === insert?.parentSpanId);
    expect(batch).toMatchObject({
      name: 'sync batch',
      attributes: { 'hub.sync.domain': 'customers', 'hub.sync.events': 1 },
    });
    expect(batch?.parentSpanId).toBe(serverOf(write, 'customers')?.spanId);
    // A read filtered on nothing but returning the email, and an input refused for its value.
    const read = await ask(OVERVIEW, { first: 1 });
    const refused = await ask(
      `mutation TracedRefusal($input: CreateContactInput!) { createContact(input: $input) { id } }`,
      { input: { customerId, firstName: 'Grace', lastName: 'Hopper', email: `not-an-email ${email}` } },
    );
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const failed = await traceOf(refused.requestId, (t) => serverOf(t, 'customers') !== undefined);
    const customersServer = serverOf(failed, 'customers');
    // The refusal is recorded with its code, not its message (which may quote the input).
    expect(customersServer?.events).toContainEqual({
      name: 'exception',
      attributes: expect.objectContaining({ 'exception.type': 'BAD_USER_INPUT' }) as unknown,
    });
    expect(customersServer?.statusCode).not.toBe(STATUS_ERROR);
    await traceOf(read.requestId, (t) => serverOf(t, 'customers') !== undefined);
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(email);
    expect(exported).not.toContain(phone);
    expect(exported).not.toContain('Hopper');
  });

  it('follows a bulk import (POST /sync/product) from the gateway into the product subgraph and its SQL, in one trace', async () => {
    const line = JSON.stringify({
      usage_analytics_sync: {
        ...BRIEF_USAGE_ANALYTICS.usage_analytics_sync,
        customer_id: 'cust_00001',
        usage_period: '2998-01-01_to_2998-01-28',
      },
    });
    const response = await fetch(`${new URL(hub.gatewayUrl).origin}/sync/product`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${admin}` },
      body: line,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"outcome":"APPLIED"');
    const requestId = response.headers.get(REQUEST_ID_HEADER) ?? '';
    expect(requestId).not.toBe('');
    const trace = await traceOf(requestId, (t) =>
      serverOf(t, 'product')
        ? t.some((s) => s.service === 'subgraph-product' && s.attributes['db.system.name'] === 'postgresql')
        : false,
    );
    const root = gatewayServerSpan(trace, requestId);
    // The request's span, named after the operation the import executes (as for POST /graphql).
    expect(root).toMatchObject({
      name: 'mutation SyncImport',
      parentSpanId: undefined,
      attributes: { 'url.path': '/sync/product', 'http.response.status_code': 200, 'hub.request_id': requestId },
    });
    // The product subgraph's server span is in that trace, under the gateway's fetch to it.
    const server = serverOf(trace, 'product');
    const fetchSpan = trace.find((s) => s.spanId === server?.parentSpanId);
    expect(fetchSpan).toMatchObject({ service: 'gateway', kind: CLIENT, name: 'subgraph product' });
  });

  it('takes a client’s traceparent as the parent of the gateway’s request span', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const { requestId } = await ask(OVERVIEW, { first: 1 }, { traceparent: `00-${traceId}-${parentId}-01` });
    const trace = await traceOf(requestId, (t) => serverOf(t, 'customers') !== undefined);
    expect(gatewayServerSpan(trace, requestId)).toMatchObject({ traceId, parentSpanId: parentId });
    expect(serverOf(trace, 'customers')?.traceId).toBe(traceId);
  });

  it('marks a fetch to a subgraph that is down as failed', async () => {
    await hub.subgraphs.product.stop();
    try {
      const { requestId, body } = await ask(OVERVIEW, { first: 1 });
      expect(body.errors?.map((e) => e.extensions?.code)).toContain('DOWNSTREAM_SERVICE_ERROR');
      const trace = await traceOf(requestId, (t) =>
        t.some((s) => s.attributes['hub.subgraph.name'] === 'product' && s.kind === CLIENT),
      );
      const fetch = trace.find((s) => s.attributes['hub.subgraph.name'] === 'product' && s.kind === CLIENT);
      expect(fetch?.statusCode).toBe(STATUS_ERROR);
      expect(fetch?.attributes['hub.subgraph.outcome']).toBe('unavailable');
      const root = gatewayServerSpan(trace, requestId);
      expect(root?.statusCode).toBe(STATUS_ERROR);
      expect(root?.attributes['graphql.error.codes']).toContain('DOWNSTREAM_SERVICE_ERROR');
    } finally {
      await hub.respawnSubgraph('product');
    }
  });

  it('sends nothing from a gateway without an OTLP endpoint', async () => {
    await hub.startGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    const { requestId, body } = await ask(OVERVIEW, { first: 1 });
    expect(body.errors).toBeUndefined();
    // The subgraphs still trace (their endpoint is set); with no traceparent from the gateway, each
    // starts a trace of its own.
    const spans = await receiver.waitFor((all) =>
      all.some((s) => s.service === 'subgraph-customers' && s.attributes['hub.request_id'] === requestId),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(spans.filter((s) => s.service === 'gateway' && s.attributes['hub.request_id'] === requestId)).toEqual([]);
    const server = spans.find(
      (s) => s.service === 'subgraph-customers' && s.attributes['hub.request_id'] === requestId,
    );
    expect(server?.parentSpanId).toBeUndefined();
  });
});
