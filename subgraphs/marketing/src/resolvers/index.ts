import type { Resolvers } from '../generated/resolvers-types.js';
import { campaignResolvers } from './campaign.js';
import { customerResolvers } from './customer.js';
import { journeyResolvers } from './journey.js';

/** All resolvers of the marketing subgraph, one file per type family. */
export const resolvers: Resolvers = {
  Query: { ...journeyResolvers.Query, ...campaignResolvers.Query },
  Mutation: { ...journeyResolvers.Mutation, ...campaignResolvers.Mutation },
  Customer: customerResolvers.Customer,
  CustomerJourney: journeyResolvers.CustomerJourney,
  JourneyStageEntry: journeyResolvers.JourneyStageEntry,
  Campaign: campaignResolvers.Campaign,
  CampaignPerformance: campaignResolvers.CampaignPerformance,
};
