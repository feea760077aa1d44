import { afterAll, beforeAll } from 'vitest';
import { startTestSubgraph, testViewer, type TestSubgraph } from '@hub/core/testing';
import type { PrismaClient } from '@hub/store/finance';
import { subgraph } from '../src/server.js';

export const acme = testViewer({ tenantId: 'acme' });
export const globex = testViewer({ tenantId: 'globex' });

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
export interface InvoiceNode {
  id: string;
  number: string;
  status: string;
  amount: string;
  dueAt: string;
  paidAt: string | null;
  customer: { id: string };
}

export const INVOICES = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: InvoiceFilter) {
    invoices(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          number
          status
          amount
          dueAt
          paidAt
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

export const FINANCE = /* GraphQL */ `
  query ($reps: [_Any!]!, $status: InvoiceStatus, $first: Int) {
    _entities(representations: $reps) {
      ... on Customer {
        id
        finance {
          customerId
          revenueAttribution {
            currentArr
            customerLtv
            successRoi
            paybackPeriodMonths
          }
          valueRealization {
            contractedValue
            realizedValue
            milestoneAchievement
            customerSatisfaction
          }
          financialHealth {
            paymentStatus
            collectionHealth
            invoiceAccuracy
          }
          invoices(first: $first, status: $status) {
            edges {
              node {
                id
                status
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
            totalCount
          }
        }
      }
      ... on Invoice {
        id
        number
      }
    }
  }
`;

export const CREATE = /* GraphQL */ `
  mutation ($input: CreateInvoiceInput!) {
    createInvoice(input: $input) {
      id
      number
      amount
      currency
      status
      paidAt
    }
  }
`;
export const UPDATE_STATUS = /* GraphQL */ `
  mutation ($input: UpdateInvoiceStatusInput!) {
    updateInvoiceStatus(input: $input) {
      id
      status
      paidAt
    }
  }
`;

export const invoiceInput = {
  customerId: 'cust_00004',
  number: 'INV-TEST-0001',
  amount: '12500.50',
  currency: 'USD',
  issuedAt: '2025-12-01T00:00:00.000Z',
  dueAt: '2025-12-31T00:00:00.000Z',
};

/**
 * Starts the finance subgraph on a fresh, seeded database for the calling test file and stops it
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
