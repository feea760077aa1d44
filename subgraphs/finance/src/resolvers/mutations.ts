import { badUserInput, notFound } from '@hub/core/errors';
import type { InvoiceStatus } from '@hub/store/finance';
import type { Resolvers } from '../generated/resolvers-types.js';
import {
  amount,
  inRange,
  nonNegativeInt,
  notBefore,
  provenance,
  requiredText,
  requireTenant,
} from '@hub/core/validate';

/** ISO-4217 alphabetic code: three capital letters. */
function currency(field: string, value: string): string {
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

/** Finance writes. Every one goes through the tenant-scoped client, so it cannot leave the tenant. */
export const mutationResolvers: Resolvers = {
  Mutation: {
    createInvoice: async (_parent, { input }, ctx) => {
      notBefore('input.dueAt', input.dueAt, input.issuedAt, 'issuedAt');
      const status = input.status ?? 'OPEN';
      if (status !== 'DRAFT' && status !== 'OPEN')
        throw badUserInput('input.status', 'a new invoice must be DRAFT or OPEN');
      return ctx.db.invoice.create({
        data: {
          tenantId: requireTenant(ctx.viewer),
          customerId: requiredText('input.customerId', input.customerId),
          number: requiredText('input.number', input.number),
          amount: amount('input.amount', input.amount, { positive: true }),
          currency: currency('input.currency', input.currency),
          issuedAt: input.issuedAt,
          dueAt: input.dueAt,
          status,
          ...provenance(input),
        },
      });
    },
    updateInvoiceStatus: async (_parent, { input }, ctx) => {
      const invoice = await ctx.db.invoice.findFirst({ where: { id: input.id } });
      if (!invoice) throw notFound('Invoice', input.id);
      if (input.paidAt != null && input.status !== 'PAID')
        throw badUserInput('input.paidAt', 'may only be given with status PAID');
      if (invoice.status === input.status) return invoice;
      if (!INVOICE_TRANSITIONS[invoice.status].includes(input.status)) {
        throw badUserInput('input.status', `an invoice cannot move from ${invoice.status} to ${input.status}`);
      }
      const paidAt = input.status === 'PAID' ? (input.paidAt ?? new Date()) : null;
      if (paidAt !== null) notBefore('input.paidAt', paidAt, invoice.issuedAt, 'issuedAt');
      return ctx.db.invoice.update({ where: { id: invoice.id }, data: { status: input.status, paidAt } });
    },
    upsertRevenueAttribution: async (_parent, { input }, ctx) => {
      const customerId = requiredText('input.customerId', input.customerId);
      const data = {
        currency: currency('input.currency', input.currency ?? 'USD'),
        currentArr: amount('input.currentArr', input.currentArr),
        churnPrevention: amount('input.churnPrevention', input.churnPrevention),
        expansionRevenue: amount('input.expansionRevenue', input.expansionRevenue),
        referralValue: amount('input.referralValue', input.referralValue),
        customerLtv: amount('input.customerLtv', input.customerLtv),
        acquisitionCost: amount('input.acquisitionCost', input.acquisitionCost),
        successRoi: inRange('input.successRoi', input.successRoi, -100, 1_000_000),
        paybackPeriodMonths: nonNegativeInt('input.paybackPeriodMonths', input.paybackPeriodMonths),
        ...provenance(input),
      };
      const tenantId = requireTenant(ctx.viewer);
      return ctx.db.revenueAttribution.upsert({
        where: { tenantId_customerId: { tenantId, customerId } },
        create: { tenantId, customerId, ...data },
        update: data,
      });
    },
  },
};
