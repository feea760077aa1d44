import { rowSpec, type Rows } from '@hub/core/columns';
import { distinct, keyedLoader, selectingLoader, type Select } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import { Prisma, type AdoptionMetrics, type FeatureUsage, type PrismaClient } from '@hub/store/product';
import { dayKey, toDay } from '@hub/core/validate';

/** A customer's data for one period; `periodStart: null` asks for the customer's latest period. */
export interface PeriodKey {
  customerId: string;
  periodStart: string | null;
}

/**
 * What each served type reads of its row (@hub/core/columns): `customer` reads only the customer
 * key; a period's rows also carry `periodStart`, which picks each key's rows out of a batch.
 */
const USAGE = { type: 'FeatureUsage', columns: Prisma.FeatureUsageScalarFieldEnum, computed: { customer: [] } };
const ADOPTION = {
  type: 'AdoptionMetrics',
  columns: Prisma.AdoptionMetricsScalarFieldEnum,
  computed: { customer: [] },
};
const USAGE_ROW = rowSpec(USAGE);
const ADOPTION_ROW = rowSpec(ADOPTION);
const USAGE_PERIOD = rowSpec({ ...USAGE, always: ['periodStart'] });
const ADOPTION_PERIOD = rowSpec({ ...ADOPTION, always: ['periodStart'] });

interface PeriodRow {
  customerId: string;
  periodStart: Date;
}

/**
 * One `where` for every key of a batch, so N customers (asking for the latest period or for
 * explicit ones, in any mix) cost one statement. "Latest" cannot be expressed as a filter without
 * a second statement, so for those customers every period is read and the newest picked here;
 * the (tenantId, customerId, periodStart) index keeps that cheap.
 */
function periodWhere(keys: readonly PeriodKey[]) {
  const latest = distinct(keys.filter((k) => k.periodStart === null).map((k) => k.customerId));
  const byPeriod = new Map<string, string[]>();
  for (const key of keys) {
    if (key.periodStart === null) continue;
    const ids = byPeriod.get(key.periodStart) ?? [];
    ids.push(key.customerId);
    byPeriod.set(key.periodStart, ids);
  }
  const or: { customerId: { in: string[] }; periodStart?: Date }[] = [];
  if (latest.length > 0) or.push({ customerId: { in: latest } });
  for (const [period, ids] of byPeriod) or.push({ customerId: { in: distinct(ids) }, periodStart: toDay(period) });
  return { OR: or };
}

/** Rows of each key's period, from the rows one batched statement returned. */
function rowsPerKey<T extends PeriodRow>(keys: readonly PeriodKey[], rows: readonly T[]): T[][] {
  const byCustomer = new Map<string, T[]>();
  for (const row of rows) {
    const list = byCustomer.get(row.customerId) ?? [];
    list.push(row);
    byCustomer.set(row.customerId, list);
  }
  return keys.map((key) => {
    const mine = byCustomer.get(key.customerId) ?? [];
    let period = key.periodStart;
    if (period === null) {
      for (const row of mine) {
        const day = dayKey(row.periodStart);
        if (period === null || day > period) period = day;
      }
    }
    return mine.filter((row) => dayKey(row.periodStart) === period);
  });
}

function periodLoader<T extends PeriodRow>(
  rows: Rows,
  fetch: (where: ReturnType<typeof periodWhere>, select: Select) => Promise<T[]>,
) {
  return selectingLoader<PeriodKey, T[]>(rows, async (keys, select) =>
    rowsPerKey(keys, await fetch(periodWhere(keys), select)),
  );
}

/** DataLoaders of one request. `db` is tenant-scoped, so every batch stays inside the tenant. */
export function createLoaders(db: PrismaClient, _viewer: Viewer) {
  return {
    // The rows carry the selected columns only; their type says the whole row.
    featureUsageById: keyedLoader<string, FeatureUsage>(
      (ids, select) =>
        db.featureUsage.findMany({ where: { id: { in: distinct(ids) } }, select }) as Promise<FeatureUsage[]>,
      (row) => row.id,
      USAGE_ROW,
    ),
    adoptionById: keyedLoader<string, AdoptionMetrics>(
      (ids, select) =>
        db.adoptionMetrics.findMany({ where: { id: { in: distinct(ids) } }, select }) as Promise<AdoptionMetrics[]>,
      (row) => row.id,
      ADOPTION_ROW,
    ),
    usageByPeriod: periodLoader<FeatureUsage>(
      USAGE_PERIOD,
      (where, select) =>
        db.featureUsage.findMany({
          where,
          orderBy: [{ customerId: 'asc' }, { category: 'asc' }, { feature: 'asc' }],
          select,
        }) as Promise<FeatureUsage[]>,
    ),
    adoptionByPeriod: periodLoader<AdoptionMetrics>(
      ADOPTION_PERIOD,
      (where, select) => db.adoptionMetrics.findMany({ where, select }) as Promise<AdoptionMetrics[]>,
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
