import { randomUUID } from 'node:crypto';
import { notFound } from '@hub/core/errors';
import { optionalText } from '@hub/core/validate';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import {
  createInvoiceKind,
  updateInvoiceStatusKind,
  upsertRevenueAttributionKind,
  type CreateInvoicePayload,
  type UpdateInvoiceStatusPayload,
  type UpsertRevenuePayload,
} from '../sync/mutations.js';

/** Id of the row a single-row write touched (a DUPLICATE answers the first call's row). */
async function writtenRow(
  ctx: Context,
  kind: string,
  payload: CreateInvoicePayload | UpdateInvoiceStatusPayload | UpsertRevenuePayload,
  input: { idempotencyKey?: string | null; sourceSystem?: string | null },
  idempotencyKey: string | null,
): Promise<string> {
  const result = await ctx.sync.applyOne({
    kind,
    payload: payload as unknown as Record<string, unknown>,
    idempotencyKey,
    source: optionalText('input.sourceSystem', input.sourceSystem, 100) ?? null,
  });
  const row = result.rows[0];
  if (!row) throw new Error(`${kind}: the pipeline answered no row`);
  return row.id;
}

/**
 * Finance writes, each one event through the sync pipeline (`ctx.sync.applyOne`): the same validation,
 * conflict rule, idempotency record and outbox event as a `syncFinance` batch. Validation lives in the
 * kinds (src/sync/mutations.ts); the resolvers read what the rules need and the row written.
 */
export const mutationResolvers: Resolvers = {
  Mutation: {
    createInvoice: async (_parent, { input }, ctx) => {
      // No key given: the engine derives one from the input, so an identical repeat replays.
      const id = await writtenRow(ctx, createInvoiceKind.name, { input }, input, input.idempotencyKey ?? null);
      return ctx.db.invoice.findFirstOrThrow({ where: { id } });
    },
    updateInvoiceStatus: async (_parent, { input }, ctx) => {
      const invoice = await ctx.db.invoice.findFirst({ where: { id: input.id } });
      if (!invoice) throw notFound('Invoice', input.id);
      const payload: UpdateInvoiceStatusPayload = {
        input,
        current: {
          number: invoice.number,
          customerId: invoice.customerId,
          status: invoice.status,
          issuedAt: invoice.issuedAt,
        },
        now: new Date(),
      };
      // A key derived from the payload could make OPEN -> PAID, later the same input, a false duplicate.
      const key = input.idempotencyKey ?? `${updateInvoiceStatusKind.name}:${randomUUID()}`;
      const id = await writtenRow(ctx, updateInvoiceStatusKind.name, payload, input, key);
      return ctx.db.invoice.findFirstOrThrow({ where: { id } });
    },
    upsertRevenueAttribution: async (_parent, { input }, ctx) => {
      // Figures A, then B, then A again must store A: only a client key marks a replay.
      const key = input.idempotencyKey ?? `${upsertRevenueAttributionKind.name}:${randomUUID()}`;
      const id = await writtenRow(ctx, upsertRevenueAttributionKind.name, { input }, input, key);
      return ctx.db.revenueAttribution.findFirstOrThrow({ where: { id } });
    },
  },
};
