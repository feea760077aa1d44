/**
 * Live sync over GraphQL subscriptions (issue 9) through the real gateway and seven subgraph
 * processes over PostgreSQL, with real clients over the real protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from './support/hub.js';
import { subscribeLive } from './support/live.js';

let hub: Hub;
let admin: string;

beforeAll(async () => {
  hub = await startHub({ gatewayEnv: { HUB_LIVE_CREDENTIAL_CHECK_MS: '1000' } });
  admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'admin1' });
}, 600_000);
afterAll(async () => {
  await hub?.stop();
});

const CHANGES = `subscription Changes($domains: [Domain!], $ids: [ID!], $after: String) {
  customerChanged(domains: $domains, customerIds: $ids, after: $after) {
    cursor domain type changedFields committedAt
    customer { id name industry renewal { contractValue } health { score } }
  }
}`;

interface Change {
  customerChanged: {
    cursor: string;
    domain: string;
    type: string;
    changedFields: string[];
    committedAt: string;
    customer: { id: string; name: string; industry: string | null; renewal: unknown; health: unknown } | null;
  };
}

describe('subscriptions over graphql-ws', () => {
  it('delivers a committed change with a payload from three subgraphs', async () => {
    const sub = subscribeLive<Change>(hub.gatewayUrl, { authorization: `Bearer ${admin}` }, CHANGES, {
      ids: ['cust_00001'],
    });
    await new Promise((r) => setTimeout(r, 1500));
    const tag = `live-${Date.now()}`;
    const res = await hub.query(
      'mutation ($tag: String!) { updateCustomer(id: "cust_00001", input: { industry: $tag }) { id } }',
      { tag },
      admin,
    );
    expect(res.errors).toBeUndefined();
    await sub.until((r) => r.some((e) => e.data?.customerChanged.customer?.industry === tag));
    const event = sub.received.find((e) => e.data?.customerChanged.customer?.industry === tag);
    expect(event?.errors).toBeUndefined();
    expect(event?.data?.customerChanged).toMatchObject({ domain: 'CUSTOMERS', customer: { id: 'cust_00001' } });
    expect(event?.data?.customerChanged.changedFields).toContain('industry');
    await sub.close();
  }, 60_000);
});
