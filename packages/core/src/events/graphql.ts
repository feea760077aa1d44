/**
 * Resolvers of the change-event SDL every subgraph serves (packages/core/src/graphql/events.graphql):
 * `_events`, this subgraph's own stream, read by the other subgraphs' consumers on the embedded bus.
 */
import { badUserInput, forbidden } from '../errors.js';
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
        // authz.ts grants it to `service` only; checked again here because a stream is every tenant's.
        if (!ctx.viewer.roles.includes('service')) throw forbidden('Only other subgraphs may read the event stream');
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
