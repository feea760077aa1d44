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
