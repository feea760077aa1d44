/** The admin override of a computed health score, through the health subgraph's GraphQL API. */
import { acme, expectError, gql, useTestSubgraph, viewerFor } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph);

const HEALTH = `score computedScore override { score reason by at expiresAt }`;
const OVERRIDE = `mutation ($input: OverrideHealthInput!) { overrideHealth(input: $input) { ${HEALTH} } }`;
const CLEAR = `mutation ($c: ID!) { clearHealthOverride(customerId: $c) { ${HEALTH} } }`;
const READ = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { health { ${HEALTH} } } } }`;

interface Health {
  score: number;
  computedScore: number;
  override: { score: number; reason: string; by: string; at: string; expiresAt: string | null } | null;
}

async function healthOf(customerId: string): Promise<Health | undefined> {
  const res = await gql<{ _entities: { health: Health }[] }>(
    hub.url,
    READ,
    { r: [{ __typename: 'Customer', id: customerId }] },
    acme,
  );
  expect(res.errors).toBeUndefined();
  return res.data?._entities[0]?.health;
}

describe('health: admin override', () => {
  it('shows the override as the score, recorded as such, and the computed score again once cleared', async () => {
    const before = await healthOf('cust_00020');
    if (!before) throw new Error('seeded customer has no health');
    const res = await gql<{ overrideHealth: Health }>(
      hub.url,
      OVERRIDE,
      {
        input: { customerId: 'cust_00020', score: 7, reason: 'customer announced a migration away' },
      },
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.overrideHealth).toMatchObject({
      score: 7,
      computedScore: before.computedScore,
      override: { score: 7, reason: 'customer announced a migration away', by: 'admin:u1', expiresAt: null },
    });
    expect(await healthOf('cust_00020')).toEqual(res.data?.overrideHealth);
    const cleared = await gql<{ clearHealthOverride: Health }>(hub.url, CLEAR, { c: 'cust_00020' }, acme);
    expect(cleared.data?.clearHealthOverride).toEqual({
      score: before.computedScore,
      computedScore: before.computedScore,
      override: null,
    });
    // Cleared once: a second clear has nothing to clear.
    expectError(await gql(hub.url, CLEAR, { c: 'cust_00020' }, acme), 'NOT_FOUND', 'customerId');
  });

  it('an override with an expiry stops applying by itself', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const res = await gql<{ overrideHealth: Health }>(
      hub.url,
      OVERRIDE,
      {
        input: { customerId: 'cust_00021', score: 99, reason: 'exec sponsor call went well', expiresAt },
      },
      acme,
    );
    expect(res.data?.overrideHealth.score).toBe(99);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const after = await healthOf('cust_00021');
    expect(after).toMatchObject({ override: null });
    expect(after?.score).toBe(after?.computedScore);
  });

  it.each([
    ['cs_manager', { roles: ['cs_manager' as const], book: ['u4'] }], // u4 owns cust_00022
    ['integration', { roles: ['integration' as const], domains: ['health' as const], userId: 'gainsight' }],
    ['sales_rep', { roles: ['sales_rep' as const], book: ['u4'] }],
  ])('is refused to %s (FORBIDDEN) and records nothing', async (_role, partial) => {
    const before = await healthOf('cust_00022');
    const res = await gql(
      hub.url,
      OVERRIDE,
      { input: { customerId: 'cust_00022', score: 1, reason: 'x' } },
      viewerFor('acme', partial),
    );
    expect(res.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(await healthOf('cust_00022')).toEqual(before);
  });

  it.each([
    ['input.score', { score: 101 }],
    ['input.reason', { reason: '  ' }],
    ['input.expiresAt', { expiresAt: '2020-01-01T00:00:00Z' }],
  ])('refuses a bad %s as BAD_USER_INPUT', async (field, patch) => {
    const res = await gql(
      hub.url,
      OVERRIDE,
      { input: { customerId: 'cust_00023', score: 5, reason: 'r', ...patch } },
      acme,
    );
    expectError(res, 'BAD_USER_INPUT', field);
    expect((await healthOf('cust_00023'))?.override).toBeNull();
  });

  it('refuses a customer without health as NOT_FOUND', async () => {
    const customerId = await hub.createCustomer(acme, 'No Health Ltd');
    expectError(
      await gql(hub.url, OVERRIDE, { input: { customerId, score: 5, reason: 'r' } }, acme),
      'NOT_FOUND',
      'input.customerId',
    );
  });
});
