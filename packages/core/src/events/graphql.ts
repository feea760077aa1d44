/**
 * Resolvers of the change-event SDL every subgraph serves (packages/core/src/graphql/events.graphql):
 * `_events`, this subgraph's own stream, read by the other subgraphs' consumers on the embedded bus.
 */
import { ErrorCode, badUserInput, forbidden, hubError, notFound } from '../errors.js';
import type { Domain } from '../domains.js';
import { pascal } from '../sync/sdl.js';
import { parseStartPosition } from './envelope.js';
import type { ConsumerRuntime } from './consumer.js';
import type { Viewer } from '../viewer.js';
import type { EmbeddedBus } from './bus-embedded.js';

interface EventsArgs {
  after?: string | null;
  limit?: number | null;
  waitMs?: number | null;
  types?: string[] | null;
  since?: Date | null;
}

export function eventsResolvers(log: () => Pick<EmbeddedBus, 'readLocal'>): Record<string, Record<string, unknown>> {
  return {
    Query: {
      _events: async (_p: unknown, args: EventsArgs, ctx: { viewer: Viewer }) => {
        // authz.ts grants it to `service` and the gateway's `system` only (roles no token can claim);
        // checked again here because a stream is every tenant's.
        if (!ctx.viewer.roles.some((role) => role === 'service' || role === 'system'))
          throw forbidden('Only other subgraphs and the gateway may read the event stream');
        const after = args.after ?? undefined;
        if (after !== undefined && after !== 'now' && !/^\d{1,19}$/.test(after))
          throw badUserInput('after', 'must be a cursor or `now`');
        const page = await log().readLocal({
          after,
          since: args.since ?? undefined,
          limit: Math.max(1, Math.min(args.limit ?? 500, 5000)),
          waitMs: Math.max(0, Math.min(args.waitMs ?? 0, 25_000)),
          types: args.types ?? undefined,
        });
        return {
          cursor: page.position,
          events: page.events.map((event) => ({ ...event, payload: JSON.stringify(event.payload) })),
        };
      },
    },
  };
}

interface AdminContext {
  viewer: Viewer;
  events: { consumers: ConsumerRuntime | undefined };
}

function tenantOf(ctx: AdminContext): string {
  if (ctx.viewer.tenantId === null) throw forbidden('This operation needs a tenant');
  return ctx.viewer.tenantId;
}

function runtimeOf(ctx: AdminContext, domain: Domain): ConsumerRuntime {
  const runtime = ctx.events.consumers;
  if (!runtime)
    throw hubError(
      ErrorCode.BadUserInput,
      `No ${domain} consumer runs in this process (none declared, or HUB_CONSUMERS=0)`,
    );
  return runtime;
}

/** The admin mutations over a domain's consumers (syncSdl): replay a dead letter, re-drive from a position. */
export function eventAdminResolvers(domain: Domain): Record<string, Record<string, unknown>> {
  const D = pascal(domain);
  return {
    Mutation: {
      [`replay${D}EventDeadLetter`]: async (_p: unknown, args: { id: string }, ctx: AdminContext) => {
        if (!/^[0-9a-f-]{36}$/i.test(args.id)) throw badUserInput('id', 'is not an id returned by this API');
        const result = await runtimeOf(ctx, domain).replayDeadLetter(args.id, tenantOf(ctx));
        if (!result) throw notFound('EventDeadLetter', args.id);
        return result;
      },
      [`replay${D}Events`]: async (
        _p: unknown,
        args: { producer: string; from: string; consumer?: string | null },
        ctx: AdminContext,
      ) => {
        let from;
        try {
          from = parseStartPosition(args.from);
        } catch (error) {
          throw badUserInput('from', error instanceof Error ? error.message : String(error));
        }
        // Nothing of this domain consumes that stream (or no consumer runs here): nothing to re-drive.
        const runtime = ctx.events.consumers;
        const producer = args.producer as Domain;
        if (!runtime?.consumers.some((c) => c.from === producer && (args.consumer == null || c.name === args.consumer)))
          return [];
        return runtime.replay({ producer, from, consumer: args.consumer ?? undefined, tenantId: tenantOf(ctx) });
      },
    },
  };
}
