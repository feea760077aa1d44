export interface InvoiceNode {
  id: string;
  number: string;
  status: string;
  amount: string;
  dueAt: string;
  paidAt: string | null;
  customer: { id: string };
}

export const INVOICES = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: InvoiceFilter) {
    invoices(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          number
          status
          amount
          dueAt
          paidAt
          customer {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;

export const FINANCE = /* GraphQL */ `
  query ($reps: [_Any!]!, $status: InvoiceStatus, $first: Int) {
    _entities(representations: $reps) {
      ... on Customer {
        id
        finance {
          customerId
          revenueAttribution {
            currentArr
            customerLtv
            successRoi
            paybackPeriodMonths
          }
          valueRealization {
            contractedValue
            realizedValue
            milestoneAchievement
            customerSatisfaction
          }
          financialHealth {
            paymentStatus
            collectionHealth
            invoiceAccuracy
          }
          invoices(first: $first, status: $status) {
            edges {
              node {
                id
                status
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
            totalCount
          }
        }
      }
      ... on Invoice {
        id
        number
      }
    }
  }
`;

export const CREATE = /* GraphQL */ `
  mutation ($input: CreateInvoiceInput!) {
    createInvoice(input: $input) {
      id
      number
      amount
      currency
      status
      paidAt
    }
  }
`;
export const UPDATE_STATUS = /* GraphQL */ `
  mutation ($input: UpdateInvoiceStatusInput!) {
    updateInvoiceStatus(input: $input) {
      id
      status
      paidAt
    }
  }
`;

export const invoiceInput = {
  customerId: 'cust_00004',
  number: 'INV-TEST-0001',
  amount: '12500.50',
  currency: 'USD',
  issuedAt: '2025-12-01T00:00:00.000Z',
  dueAt: '2025-12-31T00:00:00.000Z',
};
