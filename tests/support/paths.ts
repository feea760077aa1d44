/**
 * The read paths of the attack matrix — each domain's root list, `customer { … }` parts served by
 * other subgraphs, single lookups by id — and the SQL that says what each must return.
 */
import { expect } from 'vitest';
import { at, maskedEmail, type Domain, type GqlResponse, type Oracle } from './matrix.js';

/** A domain's own root list, and how to read the same rows with SQL. */
export interface ListSpec {
  readonly field: string;
  readonly domain: Domain;
  readonly table: string;
  /** Column with the customer id; null for tenant-wide rows (campaigns). */
  readonly customerColumn: string | null;
  /** Column the list is ordered by, and the column the test compares (`key`). */
  readonly orderBy: string;
  readonly key: string;
  /** Selection of a node, and how to read `key` from it. */
  readonly node: string;
  readonly keyOf: (node: Record<string, unknown>) => unknown;
}

const customerIdOf = (node: Record<string, unknown>) => at(node, 'customer', 'id');
const idOf = (node: Record<string, unknown>) => node['id'];

export const LISTS: readonly ListSpec[] = [
  {
    field: 'customers',
    domain: 'customers',
    table: 'customers."Customer"',
    customerColumn: 'id',
    orderBy: 'id',
    key: 'id',
    node: 'id',
    keyOf: idOf,
  },
  {
    field: 'opportunities',
    domain: 'sales',
    table: 'sales."ExpansionOpportunity"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
  {
    field: 'renewals',
    domain: 'sales',
    table: 'sales."RenewalForecast"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'customerId',
    node: 'customer { id }',
    keyOf: customerIdOf,
  },
  {
    field: 'invoices',
    domain: 'finance',
    table: 'finance."Invoice"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
  {
    field: 'revenue',
    domain: 'finance',
    table: 'finance."RevenueAttribution"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
  {
    field: 'tickets',
    domain: 'support',
    table: 'support."Ticket"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
  {
    field: 'campaigns',
    domain: 'marketing',
    table: 'marketing."Campaign"',
    customerColumn: null,
    orderBy: 'id',
    key: 'id',
    node: 'id',
    keyOf: idOf,
  },
  {
    field: 'journeys',
    domain: 'marketing',
    table: 'marketing."CustomerJourney"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'customerId',
    node: 'customer { id }',
    keyOf: customerIdOf,
  },
  {
    field: 'healthScores',
    domain: 'health',
    table: 'health."HealthScore"',
    customerColumn: 'customerId',
    orderBy: 'customerId',
    key: 'customerId',
    node: 'customerId',
    keyOf: (node) => node['customerId'],
  },
  {
    field: 'featureUsage',
    domain: 'product',
    table: 'product."FeatureUsage"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
  {
    field: 'adoptionMetrics',
    domain: 'product',
    table: 'product."AdoptionMetrics"',
    customerColumn: 'customerId',
    orderBy: 'id',
    key: 'id',
    node: 'id customer { id }',
    keyOf: idOf,
  },
];

export const PAGE = 100;

/** The connection a root list answered holds exactly the expected count and row keys, in order. */
export function expectListAnswer(
  response: GqlResponse,
  list: ListSpec,
  expected: Awaited<ReturnType<typeof expectedList>>,
): void {
  const connection = at(response.data, list.field) as {
    totalCount: number;
    edges: { node: Record<string, unknown> }[];
  };
  expect({ totalCount: connection.totalCount, keys: connection.edges.map((edge) => list.keyOf(edge.node)) }).toEqual(
    expected,
  );
}

/** The rows `ListSpec` would show a viewer whose customers are `scope` (null: the whole tenant). */
export async function expectedList(oracle: Oracle, list: ListSpec, tenant: string, scope: readonly string[] | null) {
  const filter = list.customerColumn === null || scope === null ? '' : `AND "${list.customerColumn}" = ANY($2)`;
  const params = filter === '' ? [tenant] : [tenant, scope];
  const count = await oracle.one<{ n: string }>(
    `SELECT count(*) AS n FROM ${list.table} WHERE "tenantId" = $1 ${filter}`,
    params,
  );
  const keys = await oracle.rows<{ k: string }>(
    `SELECT "${list.key}" AS k FROM ${list.table} WHERE "tenantId" = $1 ${filter} ORDER BY "${list.orderBy}" LIMIT ${PAGE}`,
    params,
  );
  return { totalCount: Number(count?.n ?? -1), keys: keys.map((row) => row.k) };
}

/** A part of `customer { … }` served by another subgraph, and what SQL says it holds. */
export interface PartSpec {
  readonly part: string;
  readonly domain: Domain;
  readonly select: string;
  /** `unmasked`: whether the viewer sees this customer's contact PII in the clear. */
  expected(oracle: Oracle, tenant: string, customerId: string, unmasked: boolean): Promise<unknown>;
}

export const PARTS: readonly PartSpec[] = [
  {
    part: 'contacts',
    domain: 'customers',
    select: 'contacts(first: 50) { totalCount edges { node { id email } } }',
    async expected(oracle, tenant, customerId, unmasked) {
      const rows = await oracle.rows<{ id: string; email: string }>(
        `SELECT id, email FROM customers."Contact" WHERE "tenantId" = $1 AND "customerId" = $2 ORDER BY id`,
        [tenant, customerId],
      );
      const email = (raw: string) => (unmasked ? raw : maskedEmail(raw));
      return { totalCount: rows.length, edges: rows.map((row) => ({ node: { id: row.id, email: email(row.email) } })) };
    },
  },
  {
    part: 'renewal',
    domain: 'sales',
    select: 'renewal { renewalProbability }',
    async expected(oracle, tenant, customerId) {
      return (
        (await oracle.one(
          `SELECT "renewalProbability" FROM sales."RenewalForecast" WHERE "tenantId" = $1 AND "customerId" = $2`,
          [tenant, customerId],
        )) ?? null
      );
    },
  },
  {
    part: 'health',
    domain: 'health',
    select: 'health { score }',
    async expected(oracle, tenant, customerId) {
      return (
        (await oracle.one(`SELECT score FROM health."HealthScore" WHERE "tenantId" = $1 AND "customerId" = $2`, [
          tenant,
          customerId,
        ])) ?? null
      );
    },
  },
  {
    part: 'finance',
    domain: 'finance',
    select: 'finance { revenueAttribution { currentArr } invoices(first: 100) { totalCount } }',
    async expected(oracle, tenant, customerId) {
      const revenue = await oracle.one<{ currentArr: string }>(
        `SELECT "currentArr"::text AS "currentArr" FROM finance."RevenueAttribution" WHERE "tenantId" = $1 AND "customerId" = $2`,
        [tenant, customerId],
      );
      const invoices = await oracle.one<{ n: string }>(
        `SELECT count(*) AS n FROM finance."Invoice" WHERE "tenantId" = $1 AND "customerId" = $2`,
        [tenant, customerId],
      );
      return { revenueAttribution: revenue ?? null, invoices: { totalCount: Number(invoices?.n) } };
    },
  },
  {
    part: 'journey',
    domain: 'marketing',
    select: 'journey { currentStage }',
    async expected(oracle, tenant, customerId) {
      return (
        (await oracle.one(
          `SELECT "currentStage"::text AS "currentStage" FROM marketing."CustomerJourney" WHERE "tenantId" = $1 AND "customerId" = $2`,
          [tenant, customerId],
        )) ?? null
      );
    },
  },
  {
    part: 'tickets',
    domain: 'support',
    select: 'tickets(first: 100) { totalCount edges { node { id } } }',
    async expected(oracle, tenant, customerId) {
      const rows = await oracle.rows<{ id: string }>(
        `SELECT id FROM support."Ticket" WHERE "tenantId" = $1 AND "customerId" = $2 ORDER BY id`,
        [tenant, customerId],
      );
      return { totalCount: rows.length, edges: rows.slice(0, 100).map((row) => ({ node: { id: row.id } })) };
    },
  },
  {
    part: 'usage',
    domain: 'product',
    select: 'usage { id }',
    async expected(oracle, tenant, customerId) {
      const rows = await oracle.rows<{ id: string }>(
        `SELECT id FROM product."FeatureUsage" WHERE "tenantId" = $1 AND "customerId" = $2
           AND "periodStart" = (SELECT max("periodStart") FROM product."FeatureUsage" WHERE "tenantId" = $1 AND "customerId" = $2) ORDER BY id`,
        [tenant, customerId],
      );
      return rows.map((row) => ({ id: row.id }));
    },
  },
];

/** A single-row lookup by id, and the row SQL says it is. */
export interface LookupSpec {
  readonly field: string;
  readonly domain: Domain;
  /** Table whose first row for the target customer is looked up (null: the customer itself). */
  readonly table: string | null;
  readonly select: string;
  /** `unmasked`: whether the viewer sees the target customer's contact PII in the clear. */
  expected(oracle: Oracle, tenant: string, id: string, unmasked: boolean): Promise<Record<string, unknown>>;
}

export const LOOKUPS: readonly LookupSpec[] = [
  {
    field: 'customer',
    domain: 'customers',
    table: null,
    select: 'id name ownerId',
    async expected(oracle, tenant, id) {
      return (
        (await oracle.one(`SELECT id, name, "ownerId" FROM customers."Customer" WHERE "tenantId" = $1 AND id = $2`, [
          tenant,
          id,
        ])) ?? {}
      );
    },
  },
  {
    field: 'contact',
    domain: 'customers',
    table: 'customers."Contact"',
    select: 'id customerId email',
    async expected(oracle, tenant, id, unmasked) {
      const row = await oracle.one<{ id: string; customerId: string; email: string }>(
        `SELECT id, "customerId", email FROM customers."Contact" WHERE "tenantId" = $1 AND id = $2`,
        [tenant, id],
      );
      return row ? { ...row, email: unmasked ? row.email : maskedEmail(row.email) } : {};
    },
  },
  {
    field: 'opportunity',
    domain: 'sales',
    table: 'sales."ExpansionOpportunity"',
    select: 'id probability customer { id }',
    async expected(oracle, tenant, id) {
      const row = await oracle.one<{ id: string; probability: number; customerId: string }>(
        `SELECT id, probability, "customerId" FROM sales."ExpansionOpportunity" WHERE "tenantId" = $1 AND id = $2`,
        [tenant, id],
      );
      return row ? { id: row.id, probability: row.probability, customer: { id: row.customerId } } : {};
    },
  },
  {
    field: 'invoice',
    domain: 'finance',
    table: 'finance."Invoice"',
    select: 'id number customer { id }',
    async expected(oracle, tenant, id) {
      const row = await oracle.one<{ id: string; number: string; customerId: string }>(
        `SELECT id, number, "customerId" FROM finance."Invoice" WHERE "tenantId" = $1 AND id = $2`,
        [tenant, id],
      );
      return row ? { id: row.id, number: row.number, customer: { id: row.customerId } } : {};
    },
  },
  {
    field: 'ticket',
    domain: 'support',
    table: 'support."Ticket"',
    select: 'id subject customer { id }',
    async expected(oracle, tenant, id) {
      const row = await oracle.one<{ id: string; subject: string; customerId: string }>(
        `SELECT id, subject, "customerId" FROM support."Ticket" WHERE "tenantId" = $1 AND id = $2`,
        [tenant, id],
      );
      return row ? { id: row.id, subject: row.subject, customer: { id: row.customerId } } : {};
    },
  },
];

/** The id a lookup asks for: the target customer itself, or its first row in the lookup's table. */
export async function lookupId(oracle: Oracle, lookup: LookupSpec, tenant: string, owner: string): Promise<string> {
  const customerId = await oracle.customerWithRow(tenant, owner, lookup.table);
  if (lookup.table === null) return customerId;
  const row = await oracle.one<{ id: string }>(
    `SELECT id FROM ${lookup.table} WHERE "tenantId" = $1 AND "customerId" = $2 ORDER BY id LIMIT 1`,
    [tenant, customerId],
  );
  if (!row) throw new Error(`no ${lookup.table} row for ${customerId}`);
  return row.id;
}
