/**
 * The brief's usage analytics payload (docs: /work/shared/brief/data-synchronization.md, "Product
 * Usage Analytics Sync") exactly as written there, the event input the import must make of it, and a
 * product sync API shaped by the contract (docs/design/sync-pipeline.md, "Contract fixed…") for the
 * gateway's own tests, which run without the domain subgraphs.
 */

export const BRIEF_USAGE_ANALYTICS = {
  usage_analytics_sync: {
    customer_id: 'cust_12345',
    usage_period: '2025-11-01_to_2025-11-30',
    feature_usage: {
      core_features: {
        email_campaigns: { usage_count: 45, adoption_score: 0.85, success_correlation: 0.92 },
        analytics_dashboard: { usage_count: 23, adoption_score: 0.65, success_correlation: 0.78 },
      },
      advanced_features: {
        automation_workflows: { usage_count: 8, adoption_score: 0.25, success_correlation: 0.88 },
        api_integrations: { usage_count: 2, adoption_score: 0.1, success_correlation: 0.95 },
      },
    },
    adoption_metrics: {
      overall_adoption_rate: 0.72,
      feature_discovery_rate: 0.45,
      activation_time: '14_days',
      maturity_level: 'intermediate',
    },
    success_correlation: { high_usage_health: 0.88, feature_completeness: 0.65, roi_achievement: 0.92 },
    sync_timestamp: '2025-12-05T08:21:00Z',
  },
};

export const BRIEF_USAGE_ANALYTICS_EVENT = {
  usageAnalyticsSync: {
    customerId: 'cust_12345',
    usagePeriod: '2025-11-01_to_2025-11-30',
    featureUsage: {
      coreFeatures: [
        { name: 'email_campaigns', usageCount: 45, adoptionScore: 0.85, successCorrelation: 0.92 },
        { name: 'analytics_dashboard', usageCount: 23, adoptionScore: 0.65, successCorrelation: 0.78 },
      ],
      advancedFeatures: [
        { name: 'automation_workflows', usageCount: 8, adoptionScore: 0.25, successCorrelation: 0.88 },
        { name: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 },
      ],
    },
    adoptionMetrics: {
      overallAdoptionRate: 0.72,
      featureDiscoveryRate: 0.45,
      activationTime: '14_days',
      maturityLevel: 'INTERMEDIATE',
    },
    successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
    syncTimestamp: '2025-12-05T08:21:00Z',
  },
};

const PRODUCT_SYNC_TYPES = /* GraphQL */ `
  scalar DateTime
  enum MaturityLevel {
    BEGINNER
    INTERMEDIATE
    ADVANCED
    EXPERT
  }
  input FeatureUsageEntryInput {
    name: String!
    usageCount: Int!
    adoptionScore: Float!
    successCorrelation: Float!
  }
  input FeatureUsageGroupsInput {
    coreFeatures: [FeatureUsageEntryInput!]
    advancedFeatures: [FeatureUsageEntryInput!]
  }
  input AdoptionMetricsSyncInput {
    overallAdoptionRate: Float!
    featureDiscoveryRate: Float!
    activationTime: String!
    maturityLevel: MaturityLevel!
  }
  input SuccessCorrelationSyncInput {
    highUsageHealth: Float!
    featureCompleteness: Float!
    roiAchievement: Float!
  }
  input UsageAnalyticsSyncInput {
    customerId: ID!
    usagePeriod: String!
    featureUsage: FeatureUsageGroupsInput!
    adoptionMetrics: AdoptionMetricsSyncInput
    successCorrelation: SuccessCorrelationSyncInput
    syncTimestamp: DateTime!
  }
  input ProductSyncEventInput {
    idempotencyKey: String
    source: String
    line: Int
    usageAnalyticsSync: UsageAnalyticsSyncInput
  }
  enum SyncOutcome {
    APPLIED
    MERGED
    STALE
    DUPLICATE
    REJECTED
  }
  type SyncEventResult {
    index: Int!
    line: Int
    idempotencyKey: String!
    kind: String!
    outcome: SyncOutcome!
    firstOutcome: SyncOutcome
    code: String
    reason: String
    field: String
    deadLetterId: ID
  }
  type SyncBatchResult {
    results: [SyncEventResult!]!
  }
`;

/** For graphql-js's buildSchema (the event parser's unit tests). */
export const PRODUCT_SYNC_SDL = /* GraphQL */ `
  ${PRODUCT_SYNC_TYPES}
  type Query {
    ok: Boolean
  }
  type Mutation {
    syncProduct(events: [ProductSyncEventInput!]!): SyncBatchResult!
  }
`;

/** For a fake `product` subgraph behind a real gateway. */
export const FAKE_PRODUCT_SUBGRAPH_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${PRODUCT_SYNC_TYPES}
  type Query {
    syncedEvents: Int!
  }
  type Mutation {
    syncProduct(events: [ProductSyncEventInput!]!): SyncBatchResult!
  }
`;
