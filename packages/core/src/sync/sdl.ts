/**
 * The GraphQL face of the sync pipeline, derived from a domain's name: the SDL fragment
 * (`syncSdl`) and its resolvers (`syncResolvers`); its permission rules live with the role matrix
 * (`syncPermissions` in authz.ts). The subgraph kit adds them to a domain whose schema.graphql declares `input
 * <Domain>SyncEventInput` (`declaresSync`); a domain without one has no sync fields yet, so the
 * seven subgraphs compose while the declarations are written one by one.
 *
 * This module is plain data and functions (no imports of the kit), so the codegen loaders
 * (scripts/*.mjs) can use it too.
 */
import { badUserInput } from '../errors.js';
import type { SyncAdmin } from './admin.js';
import type { SyncPipeline } from './engine.js';
import type { SyncDefinition, SyncEvent, SyncResult } from './types.js';

/** `product` -> `Product` (domain names are single lower-case words). */
export function pascal(domain: string): string {
  return domain.charAt(0).toUpperCase() + domain.slice(1);
}

/** snake_case kind name -> camelCase event field (`usage_analytics_sync` -> `usageAnalyticsSync`). */
export function kindField(kind: string): string {
  return kind.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Whether a domain's schema.graphql opts into the sync API. */
export function declaresSync(domain: string, schemaText: string): boolean {
  return new RegExp(`\\binput\\s+${pascal(domain)}SyncEventInput\\b`).test(schemaText);
}

/** The per-domain sync fields (contract: docs/design/sync-pipeline.md). */
export function syncSdl(domain: string): string {
  const D = pascal(domain);
  return `
extend type Query {
  "Sync bookkeeping per domain (admins)."
  sync: SyncDomains! @shareable
}

"Each domain's sync bookkeeping; every domain answers its own field."
type SyncDomains @shareable {
  "${D} data quality, conflicts and dead letters."
  ${domain}: DomainSync!
}

extend type Mutation {
  "Applies a batch of ${domain} sync events (at most 1,000 per transaction); one result per event, in order."
  sync${D}("The events, in order." events: [${D}SyncEventInput!]!): SyncBatchResult!
  "Overrides a recorded ${domain} conflict with the picked value, through the same pipeline (admins)."
  resolve${D}Conflict("The conflict id." id: ID!, "Which value to keep." pick: ConflictPick!): SyncEventResult!
  "Re-runs a ${domain} dead letter, as stored or as corrected (admins)."
  replay${D}DeadLetter("The dead letter id." id: ID!, "The corrected event; default: the stored one." event: ${D}SyncEventInput): SyncEventResult!
  "Re-runs a change event one of the ${domain} consumers dead-lettered (admins)."
  replay${D}EventDeadLetter("The event dead letter id." id: ID!): EventDeadLetterReplay!
  "Re-drives the ${domain} consumers of \`producer\`'s stream from \`from\` (a cursor, or an ISO time) for the caller's tenant; the inbox skips what was applied (admins)."
  replay${D}Events(producer: String!, from: String!, consumer: String): [EventReplayReport!]!
}
`;
}

type EventInput = Record<string, unknown> & { idempotencyKey?: string | null; source?: string | null };

/**
 * `<Domain>SyncEventInput` -> SyncEvent: exactly one kind field must be set. A wrong input is a
 * per-event rejection, not a failed request, so it is returned as an error value.
 */
export function eventFromInput(
  definition: SyncDefinition,
  input: EventInput,
  field = 'events',
): SyncEvent | { error: ReturnType<typeof badUserInput> } {
  const set = definition.kinds.filter((k) => !k.mutationOnly && input[kindField(k.name)] != null);
  const kind = set[0];
  if (set.length !== 1 || !kind) {
    return { error: badUserInput(field, `exactly one event kind must be set, got ${set.length}`) };
  }
  return {
    kind: kind.name,
    payload: input[kindField(kind.name)] as Record<string, unknown>,
    idempotencyKey: input.idempotencyKey ?? null,
    source: input.source ?? null,
  };
}

function counts(results: readonly SyncResult[]) {
  const of = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
  return {
    applied: of('APPLIED'),
    merged: of('MERGED'),
    stale: of('STALE'),
    duplicate: of('DUPLICATE'),
    rejected: of('REJECTED'),
  };
}

/** What the sync resolvers need from the request context (`ctx.sync`). */
export interface SyncRequestContext {
  sync: SyncPipeline & { admin: SyncAdmin };
}

/** Resolvers of `syncSdl(domain)` for a domain's declaration. */
export function syncResolvers(definition: SyncDefinition): Record<string, Record<string, unknown>> {
  const domain = definition.domain;
  const D = pascal(domain);
  const toEvent = (input: EventInput): SyncEvent => {
    const event = eventFromInput(definition, input, 'event');
    if ('error' in event) throw event.error;
    return event;
  };
  return {
    Query: { sync: () => ({}) },
    SyncDomains: { [domain]: () => ({ domain }) },
    DomainSync: {
      domain: () => domain,
      dataQuality: (_p: unknown, args: { windowHours?: number | null }, ctx: SyncRequestContext) =>
        ctx.sync.admin.dataQuality(args.windowHours),
      syncConflicts: (_p: unknown, args: Parameters<SyncAdmin['syncConflicts']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.syncConflicts(args),
      deadLetters: (_p: unknown, args: Parameters<SyncAdmin['deadLetters']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.deadLetters(args),
      eventDeadLetters: (_p: unknown, args: Parameters<SyncAdmin['eventDeadLetters']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.eventDeadLetters(args),
    },
    Mutation: {
      [`sync${D}`]: async (_p: unknown, args: { events: EventInput[] }, ctx: SyncRequestContext) => {
        // Malformed inputs are rejected in place; the others go through the pipeline in one call.
        const converted = args.events.map((input) => eventFromInput(definition, input));
        const valid = converted.filter((e): e is SyncEvent => !('error' in e));
        const applied = await ctx.sync.apply(valid);
        let next = 0;
        const results = converted.map((e, index): SyncResult => {
          if (!('error' in e)) {
            const result = applied[next++];
            if (!result) throw new Error('sync: missing result');
            return { ...result, index };
          }
          return {
            index,
            line: null,
            idempotencyKey:
              typeof args.events[index]?.idempotencyKey === 'string' ? String(args.events[index]?.idempotencyKey) : '',
            kind: '',
            outcome: 'REJECTED',
            firstOutcome: null,
            code: String(e.error.extensions['code']),
            reason: e.error.message,
            field: `events.${index}`,
            deadLetterId: null,
            conflicts: [],
            quality: null,
            rows: [],
          };
        });
        return { results, counts: counts(results) };
      },
      [`resolve${D}Conflict`]: (
        _p: unknown,
        args: { id: string; pick: 'STORED' | 'INCOMING' },
        ctx: SyncRequestContext,
      ) => ctx.sync.admin.resolveConflict(args.id, args.pick),
      [`replay${D}DeadLetter`]: (
        _p: unknown,
        args: { id: string; event?: EventInput | null },
        ctx: SyncRequestContext,
      ) => ctx.sync.admin.replayDeadLetter(args.id, args.event ? toEvent(args.event) : null),
    },
  };
}
