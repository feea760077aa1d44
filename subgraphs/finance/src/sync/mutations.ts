/**
 * Kinds of the finance mutations (mutation-only: not offered to `syncFinance` or NDJSON). Each payload is
 * the mutation's arguments (`{ input }`), so the dotted field of a rejection is the one the mutation has
 * always named (`input.amount`); an update also carries what the resolver read of the stored invoice,
 * so `map` stays a pure function of its payload. Their instants are Dates: a mutation's event comes from
 * GraphQL only (mutation-only kinds are never dead-lettered, so never replayed from JSON).
 */
import { badUserInput } from '@hub/core/errors';
import { mutationSourceTime } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import { amount, inRange, nonNegativeInt, notBefore, requiredText } from '@hub/core/validate';
import type { InvoiceStatus } from '@hub/store/finance';
import type {
  CreateInvoiceInput,
  UpdateInvoiceStatusInput,
  UpsertRevenueAttributionInput,
} from '../generated/resolvers-types.js';

/** ISO-4217 alphabetic code: three capital letters. */
export function currency(field: string, value: string): string {
  if (!/^[A-Z]{3}$/.test(value))
    throw badUserInput(field, 'must be an ISO-4217 code of three capital letters, e.g. USD');
  return value;
}

/** Status moves an invoice may make; PAID and VOID are final. Re-sending the current status is a no-op. */
export const INVOICE_TRANSITIONS: Readonly<Record<InvoiceStatus, readonly InvoiceStatus[]>> = {
  DRAFT: ['OPEN', 'VOID'],
  OPEN: ['PAID', 'OVERDUE', 'VOID'],
  OVERDUE: ['PAID', 'VOID'],
  PAID: [],
  VOID: [],
};

export interface CreateInvoicePayload {
  input: CreateInvoiceInput;
}

export const createInvoiceKind: SyncKind<CreateInvoicePayload> = {
  name: 'create_invoice',
  mutationOnly: true,
  // The invoice number is the caller's key: a second create of it is CONFLICT unless it is a replay.
  mode: 'insert',
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input }) {
    const { issuedAt, dueAt } = input;
    notBefore('input.dueAt', dueAt, issuedAt, 'issuedAt');
    const status = input.status ?? 'OPEN';
    if (status !== 'DRAFT' && status !== 'OPEN')
      throw badUserInput('input.status', 'a new invoice must be DRAFT or OPEN');
    return [
      {
        model: 'Invoice',
        key: { number: requiredText('input.number', input.number) },
        fields: {
          customerId: requiredText('input.customerId', input.customerId),
          amount: amount('input.amount', input.amount, { positive: true }),
          currency: currency('input.currency', input.currency),
          issuedAt,
          dueAt,
          status,
          paidAt: null,
        },
      },
    ];
  },
  quality: {
    required: ['input.customerId', 'input.number', 'input.amount', 'input.currency', 'input.issuedAt', 'input.dueAt'],
    optional: ['input.status', 'input.sourceSystem', 'input.sourceUpdatedAt'],
  },
};

export interface UpdateInvoiceStatusPayload {
  input: UpdateInvoiceStatusInput;
  /**
   * The invoice as the resolver read it: its natural key, its customer (so the pipeline checks the
   * viewer's row scope against it) and what the transition rule needs.
   */
  current: { number: string; customerId: string; status: InvoiceStatus; issuedAt: Date };
  /** Arrival time: `paidAt` of a PAID move that names none. */
  now: Date;
}

export const updateInvoiceStatusKind: SyncKind<UpdateInvoiceStatusPayload> = {
  name: 'update_invoice_status',
  mutationOnly: true,
  mode: 'update',
  sourceTime: ({ now }) => now,
  map({ input, current, now }) {
    if (input.paidAt != null && input.status !== 'PAID')
      throw badUserInput('input.paidAt', 'may only be given with status PAID');
    const key = { number: current.number };
    const customerId = current.customerId;
    if (current.status === input.status)
      return [{ model: 'Invoice', key, fields: { customerId, status: input.status } }];
    if (!INVOICE_TRANSITIONS[current.status].includes(input.status)) {
      throw badUserInput('input.status', `an invoice cannot move from ${current.status} to ${input.status}`);
    }
    const paidAt = input.status === 'PAID' ? (input.paidAt ?? now) : null;
    if (paidAt !== null) notBefore('input.paidAt', paidAt, current.issuedAt, 'issuedAt');
    return [{ model: 'Invoice', key, fields: { customerId, status: input.status, paidAt } }];
  },
  quality: { required: ['input.id', 'input.status'], optional: ['input.paidAt'] },
};

export interface UpsertRevenuePayload {
  input: UpsertRevenueAttributionInput;
}

export const upsertRevenueAttributionKind: SyncKind<UpsertRevenuePayload> = {
  name: 'upsert_revenue_attribution',
  mutationOnly: true,
  sourceTime: ({ input }) => mutationSourceTime(input),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input }) {
    return [
      {
        model: 'RevenueAttribution',
        key: { customerId: requiredText('input.customerId', input.customerId) },
        fields: {
          currency: currency('input.currency', input.currency ?? 'USD'),
          currentArr: amount('input.currentArr', input.currentArr),
          churnPrevention: amount('input.churnPrevention', input.churnPrevention),
          expansionRevenue: amount('input.expansionRevenue', input.expansionRevenue),
          referralValue: amount('input.referralValue', input.referralValue),
          customerLtv: amount('input.customerLtv', input.customerLtv),
          acquisitionCost: amount('input.acquisitionCost', input.acquisitionCost),
          successRoi: inRange('input.successRoi', input.successRoi, -100, 1_000_000),
          paybackPeriodMonths: nonNegativeInt('input.paybackPeriodMonths', input.paybackPeriodMonths),
        },
      },
    ];
  },
  quality: {
    required: [
      'input.customerId',
      'input.currentArr',
      'input.churnPrevention',
      'input.expansionRevenue',
      'input.referralValue',
      'input.customerLtv',
      'input.acquisitionCost',
      'input.successRoi',
      'input.paybackPeriodMonths',
    ],
    optional: ['input.currency', 'input.sourceSystem', 'input.sourceUpdatedAt'],
  },
};
