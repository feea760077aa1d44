/**
 * Demo data of the customers store: the roster's tenants and customers (names and owners from
 * `demoCustomers()`), 1–3 contacts each and an account team per customer. Deterministic and
 * idempotent: a tenant that already has customers is left alone.
 */
import {
  DEMO_NOW,
  DEMO_TENANTS,
  daysBefore,
  demoCustomers,
  demoRandom,
  type DemoCustomer,
  inChunks,
  SEED_TRANSACTION,
  type SeedContext,
} from '@hub/core/demo';
import type { Prisma, PrismaClient } from '@hub/store/customers';

const INDUSTRIES = [
  'Software',
  'Healthcare',
  'Retail',
  'Manufacturing',
  'Financial Services',
  'Logistics',
  'Media',
  'Energy',
  'Education',
];
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'CA', 'AU', 'NL', 'SE', 'JP', 'BR'];
const FIRST_NAMES = [
  'Ava',
  'Liam',
  'Maya',
  'Noah',
  'Zoe',
  'Ethan',
  'Lena',
  'Omar',
  'Priya',
  'Kenji',
  'Sofia',
  'Lucas',
  'Amara',
  'Jonas',
];
const LAST_NAMES = [
  'Nguyen',
  'Smith',
  'Garcia',
  'Müller',
  'Okafor',
  'Tanaka',
  'Rossi',
  'Patel',
  'Johansson',
  'Dubois',
  'Kim',
  'Silva',
];
const TITLES = [
  'VP Operations',
  'Head of Customer Success',
  'CTO',
  'Director of Marketing',
  'IT Manager',
  'COO',
  'Product Lead',
  'CFO',
];
const CHUNK = 500;

type Tier = 'ENTERPRISE' | 'MID_MARKET' | 'SMB';
type Lifecycle = 'ONBOARDING' | 'ACTIVE' | 'AT_RISK' | 'CHURNED';

const EMPLOYEES: Record<Tier, [number, number]> = {
  ENTERPRISE: [2_000, 50_000],
  MID_MARKET: [200, 1_999],
  SMB: [5, 199],
};

function pickTier(r: number): Tier {
  return r < 0.2 ? 'ENTERPRISE' : r < 0.55 ? 'MID_MARKET' : 'SMB';
}

function pickLifecycle(r: number): Lifecycle {
  return r < 0.1 ? 'ONBOARDING' : r < 0.75 ? 'ACTIVE' : r < 0.93 ? 'AT_RISK' : 'CHURNED';
}

function domainOf(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example.com`;
}

interface SeedRows {
  customers: Prisma.CustomerCreateManyInput[];
  contacts: Prisma.ContactCreateManyInput[];
  owners: Prisma.OwnerAssignmentCreateManyInput[];
}

function rowsFor(customer: DemoCustomer, ownerIds: readonly string[], rows: SeedRows): void {
  const rng = demoRandom(`customers:${customer.id}`);
  const tier = pickTier(rng.next());
  const [minEmployees, maxEmployees] = EMPLOYEES[tier];
  const domain = domainOf(customer.name);
  const createdAt = daysBefore(rng.int(120, 1500));
  const sourceUpdatedAt = daysBefore(rng.int(1, 60));
  rows.customers.push({
    id: customer.id,
    tenantId: customer.tenantId,
    name: customer.name,
    domain,
    industry: rng.pick(INDUSTRIES),
    tier,
    lifecycleStatus: pickLifecycle(rng.next()),
    country: rng.pick(COUNTRIES),
    employeeCount: rng.int(minEmployees, maxEmployees),
    ownerId: customer.ownerId,
    sourceSystem: 'salesforce',
    sourceUpdatedAt,
    createdAt,
    updatedAt: sourceUpdatedAt,
  });

  const contactCount = rng.int(1, 3);
  const serial = customer.id.slice('cust_'.length);
  for (let n = 1; n <= contactCount; n++) {
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const local = `${firstName}.${lastName}${n}`
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z0-9.]/g, '');
    rows.contacts.push({
      id: `cont_${serial}_${n}`,
      tenantId: customer.tenantId,
      customerId: customer.id,
      firstName,
      lastName,
      email: `${local}@${domain}`,
      phone: `+1 555 ${String(rng.int(100, 999))} ${String(rng.int(1000, 9999))}`,
      title: rng.pick(TITLES),
      isPrimary: n === 1,
      sourceSystem: 'salesforce',
      sourceUpdatedAt,
      createdAt,
      updatedAt: sourceUpdatedAt,
    });
  }

  const team: [string, 'CSM' | 'ACCOUNT_EXECUTIVE' | 'EXECUTIVE_SPONSOR'][] = [[customer.ownerId, 'CSM']];
  const others = ownerIds.filter((id) => id !== customer.ownerId);
  if (others.length > 0) team.push([rng.pick(others), 'ACCOUNT_EXECUTIVE']);
  if (tier === 'ENTERPRISE' && others.length > 1) team.push([rng.pick(others), 'EXECUTIVE_SPONSOR']);
  for (const [ownerId, role] of team) {
    rows.owners.push({
      id: `own_${serial}_${role.toLowerCase()}`,
      tenantId: customer.tenantId,
      customerId: customer.id,
      ownerId,
      role,
      assignedAt: createdAt,
    });
  }
}

/** Seeds the demo roster through the unscoped client (seeding spans tenants by design). */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  const roster = demoCustomers();
  for (const tenant of DEMO_TENANTS) {
    if ((await client.customer.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const rows: SeedRows = { customers: [], contacts: [], owners: [] };
    for (const customer of roster) {
      if (customer.tenantId === tenant.id) rowsFor(customer, tenant.ownerIds, rows);
    }
    await seed.insertRows(
      client,
      'Tenant',
      [{ id: tenant.id, name: tenant.name, createdAt: daysBefore(2000, DEMO_NOW) }],
      {
        skipDuplicates: true,
      },
    );
    await client.$transaction(async (tx) => {
      await inChunks(rows.customers, CHUNK, (chunk) => seed.insertRows(tx, 'Customer', chunk));
      // Contacts carry encrypted columns: written through the encrypting client, never raw.
      await inChunks(rows.contacts, CHUNK, (chunk) => tx.contact.createMany({ data: chunk }));
      await inChunks(rows.owners, CHUNK, (chunk) => seed.insertRows(tx, 'OwnerAssignment', chunk));
    }, SEED_TRANSACTION);
  }
}
