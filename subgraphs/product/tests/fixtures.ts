import { afterAll, beforeAll } from 'vitest';
import { startTestSubgraph, testViewer, type TestSubgraph } from '@hub/core/testing';
import type { PrismaClient } from '@hub/store/product';
import { subgraph } from '../src/server.js';

export const acme = testViewer({ tenantId: 'acme' });
export const globex = testViewer({ tenantId: 'globex' });

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export const USAGE_PAGE = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: FeatureUsageFilter) {
    featureUsage(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          feature
          category
          periodStart
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

export const ENTITIES = /* GraphQL */ `
  query ($reps: [_Any!]!, $period: Date) {
    _entities(representations: $reps) {
      ... on Customer {
        id
        usage(periodStart: $period) {
          id
          feature
          periodStart
        }
        adoption(periodStart: $period) {
          id
          maturityLevel
          periodStart
        }
      }
      ... on FeatureUsage {
        id
        feature
      }
    }
  }
`;

export const RECORD = /* GraphQL */ `
  mutation ($input: RecordFeatureUsageInput!) {
    recordFeatureUsage(input: $input) {
      id
      usageCount
      adoptionScore
      periodStart
      periodEnd
    }
  }
`;

export const usageInput = {
  customerId: 'cust_00002',
  periodStart: '2025-12-01',
  periodEnd: '2025-12-31',
  feature: 'email_campaigns',
  category: 'CORE',
  usageCount: 45,
  adoptionScore: 0.85,
  successCorrelation: 0.92,
  sourceSystem: 'product_analytics',
};

/**
 * Starts the product subgraph on a fresh, seeded database for the calling test file and stops it
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
