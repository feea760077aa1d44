import { acme, expectError, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const MOVE = /* GraphQL */ `
  mutation ($input: RecordJourneyStageInput!) {
    recordJourneyStage(input: $input) {
      customer {
        id
      }
      currentStage
      stageSince
      nextStagePrediction {
        targetStage
        predictedDate
        readinessScore
      }
      stageHistory {
        id
        stage
        entryDate
        exitDate
        current
        successMetrics {
          completionRate
          timeToValueDays
          satisfactionScore
        }
        progressIndicators {
          featureAdoption
          engagementScore
          successMilestones
        }
      }
    }
  }
`;
const JOURNEY =
  'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { journey { currentStage stageSince stageHistory { stage current entryDate exitDate } } } } }';

interface Entry {
  id: string;
  stage: string;
  entryDate: string;
  exitDate: string | null;
  current: boolean;
  successMetrics: Record<string, number> | null;
  progressIndicators: Record<string, number> | null;
}
interface Journey {
  currentStage: string;
  stageSince: string;
  nextStagePrediction: Record<string, unknown> | null;
  stageHistory: Entry[];
}

const hub = useTestSubgraph(subgraph);

async function journeyOf(customerId: string, viewer = acme): Promise<Journey | null> {
  const res = await gql<{ _entities: { journey: Journey | null }[] }>(
    hub.url,
    JOURNEY,
    { r: [{ __typename: 'Customer', id: customerId }] },
    viewer,
  );
  return res.data?._entities[0]?.journey ?? null;
}

describe('marketing mutations: journey stages', () => {
  it('closes the current stage, opens the new one and updates the journey in one step', async () => {
    const before = await journeyOf('cust_00003');
    if (!before) throw new Error('seed has no journey for cust_00003');
    const next = before.currentStage === 'AT_RISK' ? 'ADOPTION' : 'AT_RISK';
    const res = await gql<{ recordJourneyStage: Journey }>(
      hub.url,
      MOVE,
      {
        input: {
          customerId: 'cust_00003',
          stage: next,
          entryDate: '2025-12-10',
          closedStageMetrics: { completionRate: 1, timeToValueDays: 7, satisfactionScore: 4.5 },
          progressIndicators: { featureAdoption: 0.75, engagementScore: 8.2, successMilestones: 3 },
          nextStagePrediction: { targetStage: 'ADVOCACY', predictedDate: '2026-01-15', readinessScore: 0.68 },
          sourceSystem: 'gainsight',
        },
      },
      acme,
    );
    expect(res.errors).toBeUndefined();
    const journey = res.data?.recordJourneyStage;
    expect(journey).toMatchObject({
      currentStage: next,
      stageSince: '2025-12-10',
      nextStagePrediction: { targetStage: 'ADVOCACY', predictedDate: '2026-01-15', readinessScore: 0.68 },
    });
    const history = journey?.stageHistory ?? [];
    expect(history).toHaveLength(before.stageHistory.length + 1);
    expect(history.filter((entry) => entry.current)).toHaveLength(1);
    expect(history.at(-2)).toMatchObject({
      stage: before.currentStage,
      current: false,
      exitDate: '2025-12-10',
      successMetrics: { completionRate: 1, timeToValueDays: 7, satisfactionScore: 4.5 },
    });
    expect(history.at(-1)).toMatchObject({
      stage: next,
      current: true,
      entryDate: '2025-12-10',
      exitDate: null,
      progressIndicators: { featureAdoption: 0.75, engagementScore: 8.2, successMilestones: 3 },
    });
  });

  it('a repeated report of the current stage refreshes its progress without a new entry', async () => {
    const before = await journeyOf('cust_00003');
    const stage = before?.currentStage;
    const res = await gql<{ recordJourneyStage: Journey }>(
      hub.url,
      MOVE,
      {
        input: {
          customerId: 'cust_00003',
          stage,
          entryDate: '2025-12-11',
          progressIndicators: { featureAdoption: 0.8 },
        },
      },
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.recordJourneyStage.stageHistory).toHaveLength(before?.stageHistory.length ?? -1);
    expect(res.data?.recordJourneyStage.stageSince).toBe(before?.stageSince);
    expect(res.data?.recordJourneyStage.stageHistory.at(-1)?.progressIndicators).toMatchObject({
      featureAdoption: 0.8,
    });
  });

  it('starts a journey for a customer marketing has not seen yet', async () => {
    const customerId = await hub.createCustomer(acme, 'Fresh Journey Ltd');
    const res = await gql<{ recordJourneyStage: Journey }>(
      hub.url,
      MOVE,
      { input: { customerId, stage: 'ONBOARDING' } },
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.recordJourneyStage).toMatchObject({ currentStage: 'ONBOARDING', nextStagePrediction: null });
    expect(res.data?.recordJourneyStage.stageHistory).toHaveLength(1);
  });

  it('refuses a journey for a customer id the tenant does not have', async () => {
    const res = await gql(hub.url, MOVE, { input: { customerId: 'cust_new_1', stage: 'ONBOARDING' } }, acme);
    expectError(res, 'NOT_FOUND');
  });

  it('rejects a move dated before the current stage and changes nothing', async () => {
    const before = await journeyOf('cust_00004');
    const res = await gql(
      hub.url,
      MOVE,
      { input: { customerId: 'cust_00004', stage: 'RENEWAL', entryDate: '2000-01-01' } },
      acme,
    );
    expectError(res, 'BAD_USER_INPUT', 'input.entryDate');
    expect(await journeyOf('cust_00004')).toEqual(before);
  });

  it('rejects out-of-range metrics naming the nested field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ closedStageMetrics: { completionRate: 1.1 } }, 'input.closedStageMetrics.completionRate'],
      [{ closedStageMetrics: { satisfactionScore: 6 } }, 'input.closedStageMetrics.satisfactionScore'],
      [{ progressIndicators: { successMilestones: -1 } }, 'input.progressIndicators.successMilestones'],
      [
        { nextStagePrediction: { targetStage: 'ADVOCACY', readinessScore: 2 } },
        'input.nextStagePrediction.readinessScore',
      ],
    ];
    for (const [extra, field] of cases) {
      const res = await gql(hub.url, MOVE, { input: { customerId: 'cust_00005', stage: 'RENEWAL', ...extra } }, acme);
      expectError(res, 'BAD_USER_INPUT', field);
    }
  });

  it('concurrent moves of one customer leave exactly one current stage', async () => {
    const stages = ['ADOPTION', 'EXPANSION', 'ADVOCACY', 'RENEWAL', 'AT_RISK', 'ONBOARDING'];
    const results = await Promise.all(
      stages.map((stage) =>
        gql(hub.url, MOVE, { input: { customerId: 'cust_00006', stage, entryDate: '2026-01-01' } }, acme),
      ),
    );
    for (const res of results) expect(res.errors).toBeUndefined();
    const journey = await journeyOf('cust_00006');
    const current = journey?.stageHistory.filter((entry) => entry.current) ?? [];
    expect(current).toHaveLength(1);
    expect(current[0]?.stage).toBe(journey?.currentStage);
  });

  it('a globex viewer’s moves never touch an acme customer’s journey', async () => {
    const before = await journeyOf('cust_00007');
    const res = await gql(
      hub.url,
      MOVE,
      { input: { customerId: 'cust_00007', stage: 'AT_RISK', entryDate: '2026-02-01' } },
      globex,
    );
    expectError(res, 'NOT_FOUND');
    expect(await journeyOf('cust_00007')).toEqual(before);
  });
});
