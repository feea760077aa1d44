import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import type { Contact, Customer, OwnerAssignment, PrismaClient } from '@hub/store/customers';

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
    customerById: keyedLoader(
      (ids) => db.customer.findMany({ where: { id: { in: [...ids] } } }),
      (row) => row.id,
    ),
    contactById: keyedLoader(
      (ids) => db.contact.findMany({ where: { id: { in: [...ids] } } }),
      (row) => row.id,
    ),
    contactsByCustomer: groupedLoader(
      (customerIds) => db.contact.findMany({ where: { customerId: { in: [...customerIds] } }, orderBy: { id: 'asc' } }),
      (row) => row.customerId,
    ),
    ownersByCustomer: groupedLoader(
      (customerIds) =>
        db.ownerAssignment.findMany({
          where: { customerId: { in: [...customerIds] } },
          orderBy: [{ role: 'asc' }, { id: 'asc' }],
        }),
      (row) => row.customerId,
    ),
  };
}
