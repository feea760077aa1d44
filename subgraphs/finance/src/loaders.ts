import DataLoader from 'dataloader';
import { rowSpec } from '@hub/core/columns';
import { distinct, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import {
  Prisma,
  type FinancialHealth,
  type Invoice,
  type InvoiceStatus,
  type PrismaClient,
  type RevenueAttribution,
  type ValueRealization,
} from '@hub/store/finance';

/**
 * What each served type reads of its row (@hub/core/columns): the fields whose resolvers are not
 * one column each (resolvers/queries.ts), and the columns they read.
 */
const REVENUE = rowSpec({
  type: 'RevenueAttribution',
  columns: Prisma.RevenueAttributionScalarFieldEnum,
  computed: { customer: [] },
});
const VALUE = rowSpec({ type: 'ValueRealization', columns: Prisma.ValueRealizationScalarFieldEnum });
const HEALTH = rowSpec({ type: 'FinancialHealth', columns: Prisma.FinancialHealthScalarFieldEnum });

/** A customer's invoices, optionally only those in one status. */
export interface InvoiceKey {
  customerId: string;
  status: InvoiceStatus | null;
}

/**
 * All invoices of the batch's customers in one statement; each key then keeps its customer's
 * rows (of its status). A customer holds a bounded number of invoices, so reading them all and
 * paging in memory beats one LIMIT query per customer.
 */
function invoicesLoader(db: PrismaClient) {
  return new DataLoader<InvoiceKey, Invoice[], string>(
    async (keys) => {
      const anyStatus = keys.some((key) => key.status === null);
      const statuses = distinct(keys.flatMap((key) => (key.status === null ? [] : [key.status])));
      const rows = await db.invoice.findMany({
        where: {
          customerId: { in: distinct(keys.map((key) => key.customerId)) },
          ...(anyStatus ? {} : { status: { in: statuses } }),
        },
      });
      return keys.map((key) =>
        rows.filter((row) => row.customerId === key.customerId && (key.status === null || row.status === key.status)),
      );
    },
    { cacheKeyFn: (key) => `${key.customerId}|${key.status ?? '*'}` },
  );
}

/** DataLoaders of one request. `db` is tenant-scoped, so every batch stays inside the tenant. */
export function createLoaders(db: PrismaClient, _viewer: Viewer) {
  return {
    invoiceById: keyedLoader<string, Invoice>(
      (ids) => db.invoice.findMany({ where: { id: { in: distinct(ids) } } }),
      (row) => row.id,
    ),
    invoicesByCustomer: invoicesLoader(db),
    // The rows carry the selected columns only; their type says the whole row.
    revenueById: keyedLoader(
      (ids: readonly string[], select) =>
        db.revenueAttribution.findMany({ where: { id: { in: distinct(ids) } }, select }) as Promise<
          RevenueAttribution[]
        >,
      (row) => row.id,
      REVENUE,
    ),
    revenueByCustomer: keyedLoader(
      (ids: readonly string[], select) =>
        db.revenueAttribution.findMany({ where: { customerId: { in: distinct(ids) } }, select }) as Promise<
          RevenueAttribution[]
        >,
      (row) => row.customerId,
      REVENUE,
    ),
    valueByCustomer: keyedLoader(
      (ids: readonly string[], select) =>
        db.valueRealization.findMany({ where: { customerId: { in: distinct(ids) } }, select }) as Promise<
          ValueRealization[]
        >,
      (row) => row.customerId,
      VALUE,
    ),
    healthByCustomer: keyedLoader(
      (ids: readonly string[], select) =>
        db.financialHealth.findMany({ where: { customerId: { in: distinct(ids) } }, select }) as Promise<
          FinancialHealth[]
        >,
      (row) => row.customerId,
      HEALTH,
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
