import { rowSpec } from '@hub/core/columns';
import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import { Prisma, type Contact, type Customer, type OwnerAssignment, type PrismaClient } from '@hub/store/customers';

/**
 * What each served type reads of its row (@hub/core/columns): the fields with resolvers of their
 * own and the columns those read (beyond id, tenantId and customerId, always read).
 */
const CUSTOMER_FIELDS = {
  type: 'Customer',
  columns: Prisma.CustomerScalarFieldEnum,
  computed: { contacts: [], owners: [] },
};
const CUSTOMER = rowSpec(CUSTOMER_FIELDS);
/** Customers served as a connection's nodes (`Query.customers`). */
export const CUSTOMER_PAGE = rowSpec({ ...CUSTOMER_FIELDS, path: ['edges', 'node'] });
const CONTACT = { type: 'Contact', columns: Prisma.ContactScalarFieldEnum, computed: { customer: [] } };
const CONTACT_ROW = rowSpec(CONTACT);
/** Contacts served as a connection's nodes (`Customer.contacts`), ordered by id. */
const CONTACT_PAGE = rowSpec({ ...CONTACT, path: ['edges', 'node'] });
const OWNER = rowSpec({ type: 'OwnerAssignment', columns: Prisma.OwnerAssignmentScalarFieldEnum });

/**
 * Per-request DataLoaders over the tenant-scoped client. Every fetch by key goes through one of
 * these, so a page of N customers costs one statement per table, not N.
 */
export interface Loaders {
  customerById: ReturnType<typeof keyedLoader<string, Customer>>;
  contactById: ReturnType<typeof keyedLoader<string, Contact>>;
  /** All contacts of a customer, ordered by id; connections page over them in memory (1–3 per customer). */
  contactsByCustomer: ReturnType<typeof groupedLoader<string, Contact>>;
  ownersByCustomer: ReturnType<typeof groupedLoader<string, OwnerAssignment>>;
}

// The viewer is unused until row rules by book of business arrive (issue 3); the signature is
// fixed by the subgraph kit so those rules can land here without touching the resolvers.
export function createLoaders(db: PrismaClient, _viewer: Viewer): Loaders {
  return {
    // The rows carry the selected columns only; their type says the whole row (resolvers read
    // no more than the spec lists).
    customerById: keyedLoader(
      (ids, select) => db.customer.findMany({ where: { id: { in: [...ids] } }, select }) as Promise<Customer[]>,
      (row) => row.id,
      CUSTOMER,
    ),
    contactById: keyedLoader(
      (ids, select) => db.contact.findMany({ where: { id: { in: [...ids] } }, select }) as Promise<Contact[]>,
      (row) => row.id,
      CONTACT_ROW,
    ),
    contactsByCustomer: groupedLoader(
      (customerIds, select) =>
        db.contact.findMany({
          where: { customerId: { in: [...customerIds] } },
          orderBy: { id: 'asc' },
          select,
        }) as Promise<Contact[]>,
      (row) => row.customerId,
      CONTACT_PAGE,
    ),
    ownersByCustomer: groupedLoader(
      (customerIds, select) =>
        db.ownerAssignment.findMany({
          where: { customerId: { in: [...customerIds] } },
          orderBy: [{ role: 'asc' }, { id: 'asc' }],
          select,
        }) as Promise<OwnerAssignment[]>,
      (row) => row.customerId,
      OWNER,
    ),
  };
}
