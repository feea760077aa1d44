/**
 * Row scopes under concurrency: a subgraph keeps one scoped client per distinct viewer scope
 * (@hub/store tenant.ts `viewerClients`), so interleaved requests of viewers of different tenants
 * and books must each still see exactly their own rows.
 */
import { acme, globex, gql, testViewer, useTestSubgraph } from '@hub/core/testing';
import type { Viewer } from '@hub/core/viewer';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph);

const ROWS = /* GraphQL */ `
  query Rows {
    customers(first: 60) {
      totalCount
      edges {
        node {
          id
          ownerId
          contacts(first: 2) {
            edges {
              node {
                id
                customer {
                  id
                }
              }
            }
          }
        }
      }
    }
  }
`;

interface Rows {
  customers: {
    totalCount: number;
    edges: { node: { id: string; ownerId: string; contacts: { edges: { node: { customer: { id: string } } }[] } } }[];
  };
}

async function rows(viewer: Viewer): Promise<Rows['customers']> {
  const res = await gql<Rows>(hub.url, ROWS, {}, { ...viewer, requestId: `${viewer.userId}-${Math.random()}` });
  expect(res.errors).toBeUndefined();
  if (!res.data) throw new Error('no data');
  return res.data.customers;
}

describe('row scopes of concurrent requests', () => {
  it('interleaved requests of two tenants and two books each see only their own rows', async () => {
    const viewers: [string, Viewer][] = [
      ['acme', acme],
      ['globex', globex],
      ['bookU1', testViewer({ tenantId: 'acme', userId: 'u1', roles: ['cs_manager'], book: ['u1'] })],
      ['bookU2', testViewer({ tenantId: 'acme', userId: 'u2', roles: ['cs_manager'], book: ['u2'] })],
    ];
    // Each viewer's answer alone first: the reference the concurrent answers must equal.
    const alone = new Map<string, Rows['customers']>();
    for (const [name, viewer] of viewers) alone.set(name, await rows(viewer));
    const answerOf = (name: string) => {
      const answer = alone.get(name);
      if (!answer) throw new Error(`no answer for ${name}`);
      return answer;
    };
    const ids = (page: Rows['customers']) => page.edges.map((edge) => edge.node.id);
    expect(ids(answerOf('bookU1')).length).toBeGreaterThan(0);
    expect(answerOf('bookU1').edges.every((edge) => edge.node.ownerId === 'u1')).toBe(true);
    expect(answerOf('bookU2').edges.every((edge) => edge.node.ownerId === 'u2')).toBe(true);
    const acmeIds = new Set(ids(answerOf('acme')));
    expect(ids(answerOf('globex')).some((id) => acmeIds.has(id))).toBe(false);

    // Then waves of 16 requests in flight at once, the four viewers interleaved (more at once
    // outlive the viewer tokens' 5 s on a loaded machine).
    for (let wave = 0; wave < 3; wave++) {
      const order = Array.from({ length: 16 }, (_, i) => viewers[(i + wave) % viewers.length] as [string, Viewer]);
      const answers = await Promise.all(order.map(([, viewer]) => rows(viewer)));
      answers.forEach((answer, i) => {
        const [name] = order[i] as [string, Viewer];
        expect(answer.totalCount, name).toBe(answerOf(name).totalCount);
        expect(ids(answer), name).toEqual(ids(answerOf(name)));
        for (const edge of answer.edges)
          for (const contact of edge.node.contacts.edges) expect(contact.node.customer.id).toBe(edge.node.id);
      });
    }
  });
});
