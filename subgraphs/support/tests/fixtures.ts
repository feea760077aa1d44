import { acme, gql, type Page, walkPages } from '@hub/core/testing';
import type { Viewer } from '@hub/core/viewer';

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

/** Every ticket matching `filter`, read `first` per page, and the reported total. */
export async function allTickets(
  url: string,
  viewer: Viewer,
  filter: Record<string, unknown>,
  first: number,
): Promise<{ nodes: TicketNode[]; total: number }> {
  const { nodes, totalCount } = await walkPages<TicketNode>(url, TICKETS, 'tickets', {
    first,
    viewer,
    variables: { filter },
  });
  return { nodes, total: totalCount };
}

export async function firstTicketId(url: string, filter: Record<string, unknown>): Promise<string> {
  const res = await gql<{ tickets: Page<TicketNode> }>(url, TICKETS, { first: 1, filter }, acme);
  const id = res.data?.tickets.edges[0]?.node.id;
  if (id === undefined) throw new Error(`no ticket matches ${JSON.stringify(filter)}`);
  return id;
}
