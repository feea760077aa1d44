/**
 * The demo seeds' raw insert (demo.ts `insertRows`) writes what Prisma `createMany` would: each
 * value kind read back through Prisma equal to the same row written by createMany, on PostgreSQL
 * and on the embedded store; and it refuses what it cannot write (encrypted models, odd rows).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsDirFor, openStore, type Store, type StoreConfig } from '@hub/store';
import { Prisma as FinancePrisma, PrismaClient as FinanceClient } from '@hub/store/finance';
import { PrismaClient as HealthClient } from '@hub/store/health';
import { seedContext } from '../src/demo.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function rollup(customerId: string) {
  return {
    tenantId: 't1',
    customerId,
    day: new Date('2025-11-30T00:00:00.000Z'),
    currentArr: new FinancePrisma.Decimal('123456789012.34'),
    contractedValue: 0.1,
    realizedValue: new FinancePrisma.Decimal('-5.5'),
    invoicedTotal: 1e-2,
    paidTotal: 7,
    outstandingTotal: new FinancePrisma.Decimal(0),
    overdueTotal: 99.99,
    overdueInvoices: 3,
    paymentStatus: 'OVERDUE' as const,
    sourceSystem: null,
    sourceUpdatedAt: new Date('2025-12-01T10:11:12.345Z'),
  };
}

function score(customerId: string) {
  return {
    tenantId: 't1',
    customerId,
    score: 71,
    usageScore: 60,
    engagementScore: 80,
    supportSatisfaction: 75,
    paymentStatus: 'CURRENT' as const,
    riskIndicators: [],
    improvementAreas: ['a, b', 'quote " and \\ backslash', '{braces}', 'NULL', 'ünï'],
    marketingCampaignTriggers: ['x'],
    marketingSegment: null,
    salesExpansionOpportunities: [],
    salesRenewalConfidence: 0.123456789,
    productFeatureAdoptionFocus: ['reporting'],
    productBetaInterests: [],
    syncTimestamp: new Date('2025-12-05T08:21:00.001Z'),
    dataQualityScore: 0.95,
    sourceSystem: 'health-engine',
    sourceUpdatedAt: null,
  };
}

function inputRow(rowKey: string) {
  return {
    tenantId: 't1',
    model: 'Ticket',
    rowKey,
    customerId: 'c1',
    values: { n: 1.5, s: 'text', nested: { list: [1, 'two', null], flag: true }, none: null },
    fieldTimes: ['2025-12-01T00:00:00.000Z'],
    sourceAt: new Date('2025-12-01T00:00:00.000Z'),
    eventId: 'e1',
    updatedAt: new Date('2025-12-02T00:00:00.000Z'),
  };
}

const omit = (row: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));

let database: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'hub-seed-'));
});
afterAll(async () => {
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe.each(['postgres', 'embedded'] as const)('insertRows on %s', (kind) => {
  let finance: Store<FinanceClient>;
  let health: Store<HealthClient>;
  const config = (domain: string): StoreConfig =>
    kind === 'postgres' ? { kind, url: database.url, schema: domain } : { kind, dataDir: path.join(dataDir, domain) };
  beforeAll(async () => {
    finance = await openStore({
      domain: 'finance',
      config: config('finance'),
      PrismaClient: FinanceClient,
      migrationsDir: migrationsDirFor('finance'),
    });
    health = await openStore({
      domain: 'health',
      config: config('health'),
      PrismaClient: HealthClient,
      migrationsDir: migrationsDirFor('health'),
    });
    await finance.migrate();
    await health.migrate();
  }, 120_000);
  afterAll(async () => {
    await finance?.close();
    await health?.close();
  });

  it('writes Decimals, a date, enums and nulls as createMany does, giving id and updatedAt', async () => {
    const seed = seedContext([]);
    const before = Date.now();
    await finance.client.financeDailyRollup.createMany({ data: [rollup('prisma')] });
    expect(await seed.insertRows(finance.client, 'FinanceDailyRollup', [rollup('raw')])).toBe(1);
    const byPrisma = await finance.client.financeDailyRollup.findFirstOrThrow({ where: { customerId: 'prisma' } });
    const byRaw = await finance.client.financeDailyRollup.findFirstOrThrow({ where: { customerId: 'raw' } });
    expect(byRaw.id).toMatch(UUID);
    expect(byRaw.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(byRaw.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(byRaw.currency).toBe('USD');
    const comparable = (row: Record<string, unknown>) =>
      JSON.stringify(omit(row, 'id', 'customerId', 'createdAt', 'updatedAt'));
    expect(comparable(byRaw)).toBe(comparable(byPrisma));
  });

  it('writes String[] arrays, floats and Json as createMany does, inside a transaction', async () => {
    const seed = seedContext([]);
    await health.client.healthScore.createMany({ data: [score('prisma')] });
    await health.client.healthInputRow.createMany({ data: [inputRow('prisma')] });
    await health.client.$transaction(async (tx) => {
      await seed.insertRows(tx, 'HealthScore', [score('raw')]);
      await seed.insertRows(tx, 'HealthInputRow', [inputRow('raw')]);
    });
    const scores = await health.client.healthScore.findMany({ orderBy: { customerId: 'asc' } });
    const inputs = await health.client.healthInputRow.findMany({ orderBy: { rowKey: 'asc' } });
    const [byPrisma, byRaw] = scores.map((row) => omit(row, 'customerId', 'createdAt', 'updatedAt'));
    expect(byRaw).toEqual(byPrisma);
    expect(byRaw?.['improvementAreas']).toEqual(score('x').improvementAreas);
    const [inputPrisma, inputRaw] = inputs.map((row) => omit(row, 'rowKey'));
    expect(inputRaw).toEqual(inputPrisma);
    expect(inputRaw?.['values']).toEqual(inputRow('x').values);
  });

  it('skips duplicates when asked and fails on them otherwise', async () => {
    const seed = seedContext([]);
    const row = { ...score('dup') };
    expect(await seed.insertRows(health.client, 'HealthScore', [row])).toBe(1);
    expect(await seed.insertRows(health.client, 'HealthScore', [row], { skipDuplicates: true })).toBe(0);
    await expect(seed.insertRows(health.client, 'HealthScore', [row])).rejects.toThrow();
  });

  it('refuses an encrypted model, uneven rows, unknown columns and required columns it cannot give', async () => {
    await expect(seedContext(['HealthScore']).insertRows(health.client, 'HealthScore', [score('enc')])).rejects.toThrow(
      /HealthScore has encrypted columns/,
    );
    const seed = seedContext([]);
    await expect(
      seed.insertRows(health.client, 'HealthScore', [score('u1'), { ...score('u2'), marketingSegment: undefined }]),
    ).rejects.toThrow(/rows carry different fields/);
    await expect(seed.insertRows(health.client, 'HealthScore', [{ ...score('u3'), nope: 1 }])).rejects.toThrow(
      /HealthScore has no column "nope"/,
    );
    await expect(seed.insertRows(health.client, 'HealthScore', [omit(score('u4'), 'score')])).rejects.toThrow(
      /HealthScore\.score is required/,
    );
    await expect(seed.insertRows(health.client, 'Nope', [{ id: 'x' }])).rejects.toThrow(/table "Nope" does not exist/);
    expect(await health.client.healthScore.count({ where: { customerId: { startsWith: 'u' } } })).toBe(0);
  });
});
