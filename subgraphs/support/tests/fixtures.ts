import { afterAll, beforeAll } from 'vitest';
import { gql, startTestSubgraph, testViewer, type TestSubgraph } from '@hub/core/testing';
import type { PrismaClient } from '@hub/store/support';
import { subgraph } from '../src/server.js';

export const acme = testViewer({ tenantId: 'acme' });
export const globex = testViewer({ tenantId: 'globex' });

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
export interface TicketNode {
  id: string;
  status: string;
  priority: string;
  openedAt: string;
  resolvedAt: string | null;
  satisfactionScore: number | null;
  customer: { id: string };
}
export interface Satisfaction {
  averageScore: number | null;
  responses: number;
  openTickets: number;
  totalTickets: number;
  averageResolutionHours: number | null;
}

export const TICKETS = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: TicketFilter) {
    tickets(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          status
          priority
          openedAt
          resolvedAt
          satisfactionScore
          customer {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;

export const CUSTOMERS = /* GraphQL */ `
  query ($reps: [_Any!]!, $filter: CustomerTicketFilter) {
    _entities(representations: $reps) {
      ... on Customer {
        id
        tickets(first: 100, filter: $filter) {
          edges {
            node {
              id
              status
              priority
            }
          }
          totalCount
        }
        supportSatisfaction {
          averageScore
          responses
          openTickets
          totalTickets
          averageResolutionHours
        }
      }
      ... on Ticket {
        id
        subject
      }
    }
  }
`;

export const CREATE = /* GraphQL */ `
  mutation ($input: CreateTicketInput!) {
    createTicket(input: $input) {
      id
      status
      priority
      openedAt
      customer {
        id
      }
    }
  }
`;
export const UPDATE = /* GraphQL */ `
  mutation ($input: UpdateTicketInput!) {
    updateTicket(input: $input) {
      id
      status
      resolvedAt
      satisfactionScore
      firstResponseAt
    }
  }
`;

export async function allTickets(
  url: string,
  viewer: typeof acme,
  filter: Record<string, unknown>,
  first: number,
): Promise<{ nodes: TicketNode[]; total: number }> {
  const nodes: TicketNode[] = [];
  let after: string | null = null;
  let total = -1;
  for (let guard = 0; guard < 200; guard++) {
    const res: { data?: { tickets: Page<TicketNode> } | null } = await gql(
      url,
      TICKETS,
      { first, after, filter },
      viewer,
    );
    const page = res.data?.tickets;
    if (!page) throw new Error('no page');
    total = page.totalCount;
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  return { nodes, total };
}

export async function firstTicketId(url: string, filter: Record<string, unknown>): Promise<string> {
  const res = await gql<{ tickets: Page<TicketNode> }>(url, TICKETS, { first: 1, filter }, acme);
  const id = res.data?.tickets.edges[0]?.node.id;
  if (id === undefined) throw new Error(`no ticket matches ${JSON.stringify(filter)}`);
  return id;
}

/**
 * Starts the support subgraph on a fresh, seeded database for the calling test file and stops it
 * (dropping the database) afterwards. Returns a getter: the subgraph exists only once beforeAll ran.
 */
export function useSubgraph(): () => TestSubgraph<PrismaClient> {
  let sg: TestSubgraph<PrismaClient> | undefined;
  beforeAll(async () => {
    sg = await startTestSubgraph(subgraph);
  });
  afterAll(async () => {
    await sg?.stop();
  });
  return () => {
    if (!sg) throw new Error('the subgraph is not started');
    return sg;
  };
}
