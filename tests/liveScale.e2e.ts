/**
 * Live sync scale-out (issue 9 item 5): the hub on PostgreSQL with NATS JetStream as its bus and two
 * gateway processes, sharing no memory, each reading the domains' streams with its own ordered
 * consumers. Subscribers on both receive every committed change they may read exactly once, in
 * order; a subscriber that drops from one gateway resumes on the other with its cursor and loses
 * nothing and repeats nothing; a gateway killed while changes flow leaves the other delivering.
 *
 * A payload is resolved through the graph when it is delivered, not when its change committed (README
 * "Live updates"): a gateway that resolves an event after its customer changed again shows the later
 * value. So "once, in order" is held by the deliveries themselves — one per change, each with a cursor
 * of its own, in the changes' order of customers — and each payload must show its customer's value as
 * of that change or later, never earlier and never another customer's.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '@hub/core/process';
import { startHub, type Hub } from './support/hub.js';
import { subscribeLive, type Received } from './support/live.js';

const CHANGES = `subscription Changes($after: String) {
  customerChanged(domains: [CUSTOMERS], customerIds: ["cust_00001", "cust_00002"], after: $after) {
    cursor domain type customer { id industry }
  }
}`;
type Change = {
  customerChanged: { cursor: string; domain: string; customer: { id: string; industry: string | null } | null };
};
const tagsOf = (received: Received<Change>[]) =>
  received.flatMap((r) => (r.data?.customerChanged.customer ? [r.data.customerChanged.customer.industry ?? ''] : []));
/** `scale-7` -> 7: the tags are numbered in commit order. */
const numberOf = (tag: string) => Number(tag.slice('scale-'.length));
const settle = () => new Promise((r) => setTimeout(r, 1500));

describe('live subscriptions across two gateways on NATS JetStream', () => {
  let hub: Hub;
  let admin: string;
  let gatewayA: ServiceProcess;
  let urlA: string;
  let urlB: string;
  const nats = {
    NATS_URL: process.env['HUB_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
    HUB_NATS_PREFIX: `LIVE${randomBytes(4).toString('hex').toUpperCase()}`,
  };
  let n = 0;
  /** The customer each tag was written to. */
  const customerOfTag = new Map<string, string>();
  /** One committed change of a customer, its industry set to a fresh tag (the tag identifies it). */
  async function change(customer: 'cust_00001' | 'cust_00002'): Promise<string> {
    const tag = `scale-${++n}`;
    customerOfTag.set(tag, customer);
    const res = await hub.query(
      'mutation ($id: ID!, $tag: String!) { updateCustomer(id: $id, input: { industry: $tag }) { id } }',
      { id: customer, tag },
      admin,
    );
    expect(res.errors).toBeUndefined();
    return tag;
  }
  const bearer = () => ({ authorization: `Bearer ${admin}` });
  /** `received` (from the first delivery on) is one delivery per change of `expected`, in order (see the header). */
  function expectDeliveries(received: Received<Change>[], expected: readonly string[]) {
    const events = received.flatMap((r) => (r.data ? [r.data.customerChanged] : []));
    expect(received.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(events.map((e) => e.customer?.id)).toEqual(expected.map((tag) => customerOfTag.get(tag)));
    expect(new Set(events.map((e) => e.cursor)).size).toBe(events.length);
    events.forEach((event, k) => {
      const shown = event.customer?.industry ?? '';
      const tag = expected[k] ?? '';
      expect(customerOfTag.get(shown), `delivery ${k} shows ${shown} for ${tag}`).toBe(customerOfTag.get(tag));
      expect(numberOf(shown), `delivery ${k} shows ${shown} for ${tag}`).toBeGreaterThanOrEqual(numberOf(tag));
    });
  }

  beforeAll(async () => {
    hub = await startHub({ subgraphEnv: nats, gatewayEnv: nats });
    admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    gatewayA = hub.gateway;
    urlA = hub.gatewayUrl;
    await hub.startGateway();
    urlB = hub.gatewayUrl;
    expect(urlB).not.toBe(urlA);
  }, 600_000);
  afterAll(async () => {
    await hub?.stop();
  });

  it('delivers every change once, in order, to subscribers of both gateways; resumes across them; survives one dying', async () => {
    const onA = subscribeLive<Change>(urlA, bearer(), CHANGES);
    const onB = subscribeLive<Change>(urlB, bearer(), CHANGES);
    const dropping = subscribeLive<Change>(urlA, bearer(), CHANGES);
    await settle();
    const first: string[] = [];
    for (let i = 0; i < 6; i++) first.push(await change(i % 2 === 0 ? 'cust_00001' : 'cust_00002'));
    for (const sub of [onA, onB, dropping])
      await sub.until((r) => tagsOf(r).length >= first.length, 30_000, 'first changes');
    for (const sub of [onA, onB, dropping]) expectDeliveries(sub.received, first);

    // A client drops from gateway A and resumes on gateway B with the cursor A gave it.
    const cursor = dropping.received.at(-1)?.data?.customerChanged.cursor;
    await dropping.close();
    const missed: string[] = [];
    for (let i = 0; i < 4; i++) missed.push(await change('cust_00001'));
    const resumed = subscribeLive<Change>(urlB, bearer(), CHANGES, { after: cursor });
    await resumed.until((r) => tagsOf(r).length >= missed.length, 30_000, 'missed changes on B');

    // Gateway A dies while changes flow: B's subscribers go on receiving.
    await gatewayA.kill();
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push(await change('cust_00002'));
    await onB.until(
      (r) => tagsOf(r).length >= first.length + missed.length + after.length,
      30_000,
      'changes after the kill',
    );
    await resumed.until(
      (r) => tagsOf(r).length >= missed.length + after.length,
      30_000,
      'resumed changes after the kill',
    );
    await new Promise((r) => setTimeout(r, 500));
    expectDeliveries(onB.received, [...first, ...missed, ...after]);
    expectDeliveries(resumed.received, [...missed, ...after]);
    // A's subscriber saw everything up to the kill, then its socket closed.
    expectDeliveries(onA.received.slice(0, first.length + missed.length), [...first, ...missed]);
    await Promise.all([onA.close(), onB.close(), resumed.close()]);
  }, 180_000);
});
