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
import type { AuditEntryNode, AuditTrailArgs } from '../audit.js';
import { badUserInput } from '../errors.js';
import type { Connection } from '../pagination.js';
import type { ErasureAdmin } from '../erasure.js';
import type { EventsAdmin } from '../events/admin.js';
import type { JobRunRecord } from '../events/jobs.js';
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
extend type Query @classification(level: "INTERNAL") {
  "Sync bookkeeping per domain (admins)."
  sync: SyncDomains!
    @shareable
    @responseCache(
      policy: "NEVER"
      reason: "sync bookkeeping (job runs, dead letters, conflicts, consumer lag) changes without a change event"
    )
}

"Each domain's sync bookkeeping; every domain answers its own field."
type SyncDomains @shareable @classification(level: "INTERNAL") {
  "${D} data quality, conflicts and dead letters."
  ${domain}: DomainSync!
}

"""
A customer's erasure (\`eraseCustomer\`, \`customerErasure\`), as each domain reports it (admins).
"""
type CustomerErasure @key(fields: "customerId") @classification(level: "INTERNAL") {
  customerId: ID!
  "What the ${domain} domain erased; waits briefly for the domain to apply a fresh erasure."
  ${domain}: DomainErasure!
}

extend type Mutation @classification(level: "INTERNAL") {
  "Applies a batch of ${domain} sync events (at most 1,000 per transaction); one result per event, in order."
  sync${D}("The events, in order." events: [${D}SyncEventInput!]!): SyncBatchResult!
  "Overrides a recorded ${domain} conflict with the picked value, through the same pipeline (admins)."
  resolve${D}Conflict("The conflict id." id: ID!, "Which value to keep." pick: ConflictPick!): SyncEventResult!
  "Re-runs a ${domain} dead letter, as stored or as corrected (admins)."
  replay${D}DeadLetter("The dead letter id." id: ID!, "The corrected event; default: the stored one." event: ${D}SyncEventInput): SyncEventResult!
  "Queues a run of one of the ${domain} jobs for the caller's tenant and returns it; follow it with \`sync { ${domain} { jobRun(id) } }\` (admins)."
  run${D}Job("The job's name (\`sync { ${domain} { jobs { name } } }\`)." job: String!, "The tenant; must be the caller's own (default)." tenant: String, "Flags the job declares (\`sync { ${domain} { jobs { flags } } }\`), e.g. \`repair\`." flags: [String!]): JobRun!
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
  sync: SyncPipeline & {
    admin: SyncAdmin;
    events: EventsAdmin;
    erasure: ErasureAdmin;
    /** This domain's audit trail of a customer for the viewer's tenant (audit.ts). */
    auditTrail(args: AuditTrailArgs): Promise<Connection<AuditEntryNode>>;
  };
}

/** A run as the GraphQL `JobRun` type shows it (enums upper-case, the summary as JSON text). */
function jobRunOut(run: JobRunRecord | null) {
  if (!run) return null;
  return {
    ...run,
    status: run.status.toUpperCase(),
    trigger: run.trigger.toUpperCase(),
    summary: run.summary === null ? null : JSON.stringify(run.summary),
  };
}

/** An integration-health row (snake_case columns) as `IntegrationHealthReport`. */
function reportOut(row: Record<string, unknown>) {
  return {
    periodStart: row['period_start'],
    periodEnd: row['period_end'],
    domain: row['domain'],
    runId: row['run_id'],
    events: row['events'],
    eventsPerSecond: row['events_per_second'],
    publishLagP50Ms: row['publish_lag_p50_ms'],
    publishLagP95Ms: row['publish_lag_p95_ms'],
    outboxBacklog: row['outbox_backlog'],
    consumers: row['consumer_lag'],
    records: row['records'],
    rejected: row['rejected'],
    syncDeadLetters: row['sync_dead_letters'],
    consumerDeadLetters: row['consumer_dead_letters'],
    qualityScore: row['quality_score'],
    accuracy: row['accuracy'],
    completeness: row['completeness'],
    consistency: row['consistency'],
    createdAt: row['created_at'],
  };
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
    CustomerErasure: {
      __resolveReference: (ref: { customerId: string }) => ({ customerId: ref.customerId }),
      [domain]: (parent: { customerId: string }, _args: unknown, ctx: SyncRequestContext) =>
        ctx.sync.erasure.report(parent.customerId),
    },
    DomainSync: {
      domain: () => domain,
      dataQuality: (_p: unknown, args: { windowHours?: number | null }, ctx: SyncRequestContext) =>
        ctx.sync.admin.dataQuality(args.windowHours),
      syncConflicts: (_p: unknown, args: Parameters<SyncAdmin['syncConflicts']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.syncConflicts(args),
      deadLetters: (_p: unknown, args: Parameters<SyncAdmin['deadLetters']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.deadLetters(args),
      status: async (_p: unknown, _args: unknown, ctx: SyncRequestContext) => {
        const status = await ctx.sync.events.status();
        return { ...status, jobRuns: status.jobRuns.map(jobRunOut) };
      },
      jobs: (_p: unknown, _args: unknown, ctx: SyncRequestContext) => ctx.sync.events.jobs(),
      jobRuns: async (_p: unknown, args: Parameters<EventsAdmin['jobRuns']>[0], ctx: SyncRequestContext) => {
        const page = await ctx.sync.events.jobRuns(args);
        return { ...page, edges: page.edges.map((edge) => ({ ...edge, node: jobRunOut(edge.node) })) };
      },
      jobRun: async (_p: unknown, args: { id: string }, ctx: SyncRequestContext) =>
        jobRunOut(await ctx.sync.events.jobRun(args.id)),
      integrationHealth: async (
        _p: unknown,
        args: Parameters<EventsAdmin['integrationHealth']>[0],
        ctx: SyncRequestContext,
      ) => {
        const page = await ctx.sync.events.integrationHealth(args);
        return { ...page, edges: page.edges.map((edge) => ({ ...edge, node: reportOut(edge.node) })) };
      },
      eventDeadLetters: (_p: unknown, args: Parameters<SyncAdmin['eventDeadLetters']>[0], ctx: SyncRequestContext) =>
        ctx.sync.admin.eventDeadLetters(args),
      anomalies: (_p: unknown, args: Parameters<EventsAdmin['anomalies']>[0], ctx: SyncRequestContext) =>
        ctx.sync.events.anomalies(args),
      auditTrail: async (_p: unknown, args: AuditTrailArgs, ctx: SyncRequestContext) => {
        const page = await ctx.sync.auditTrail(args);
        return {
          ...page,
          edges: page.edges.map((edge) => ({
            ...edge,
            node: { ...edge.node, position: String(edge.node.position), action: edge.node.action.toUpperCase() },
          })),
        };
      },
      reconciliation: (_p: unknown, args: { runId?: string | null }, ctx: SyncRequestContext) =>
        ctx.sync.events.reconciliation(args.runId),
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
      [`run${D}Job`]: async (
        _p: unknown,
        args: { job: string; tenant?: string | null; flags?: string[] | null },
        ctx: SyncRequestContext,
      ) => jobRunOut(await ctx.sync.events.runJob(args.job, args.tenant, args.flags)),
    },
  };
}
