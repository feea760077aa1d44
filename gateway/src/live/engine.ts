/**
 * The subscription fan-out: one event source for the process, one producer loop per subscription.
 *
 * Per subscription: register on the source first (live events queue up), then replay each of its
 * streams from the resume cursor through the bus's `read`, then the queue — every event whose stream
 * cursor is not after the subscription's position in that stream is skipped, so the seam between
 * replay and live delivers each event once, in stream order. Each event is filtered (tenant,
 * domains, customers), resolved through the graph with the subscriber's current viewer (one shared
 * resolution per event, payload shape and scope class), and delivered only when the subscriber may
 * read the customer. Its cursor is the subscription's position after it, in every stream.
 */
import { DOMAINS, type Domain } from '@hub/core/domains';
import { ErrorCode, hubError } from '@hub/core/errors';
import { HEALTH_EVENT_TYPE, healthEventOf } from '@hub/core/events/health';
import type { EventEnvelope, SyncEventPayload } from '@hub/core/events/types';
import type { Viewer } from '@hub/core/viewer';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { Channel } from './channel.js';
import { decodeCursor, encodeCursor, isAfter, type StreamVector } from './cursor.js';
import { ResolutionBatcher } from './batch.js';
import { ID_VAR, isCheckKey, PROBE_ALIAS, shapePayload, type PayloadPlan, type Resolution } from './payload.js';
import { probeFor, type LiveSchema } from './schema.js';
import type { EventSource } from './source.js';
import { EventRouter } from './router.js';
import { SharedPayloads, SharedResolutions } from './shared.js';

/** Runs a query through the gateway's executor as `viewer` (Apollo Server -> @apollo/gateway). */
export type LiveExecutor = (query: string, variables: Record<string, unknown>, viewer: Viewer) => Promise<Resolution>;

export interface LiveEngineOptions {
  readonly source: EventSource;
  readonly execute: LiveExecutor;
  readonly schema: () => LiveSchema | undefined;
  readonly log: Logger;
  /** Live events one subscription may have waiting before it is ended (resumable). */
  readonly bufferLimit: number;
  readonly metrics: Pick<
    GatewayMetrics,
    'liveResolutions' | 'livePayloads' | 'liveDelivered' | 'liveSubscriptions' | 'liveDeliveryLag' | 'liveQueries'
  >;
}

export interface LiveSession {
  /** The subscriber's viewer now (the transport re-checks credentials and swaps it). */
  viewer(): Viewer;
}

/** Codes with which the graph says "this viewer may not read it" rather than "something failed". */
const REFUSALS = new Set<unknown>([ErrorCode.NotFound, ErrorCode.Forbidden]);
const PAGE = 500;
const RETRIES = 3;
/** Events of one subscription resolved ahead of their delivery (together, see batch.ts). */
const LOOKAHEAD = 32;

interface Prepared {
  readonly event: EventEnvelope;
  /** Not after the subscription's position (the replay/live seam): nothing to do. */
  readonly skip: boolean;
  /** Started when the subscriber may be shown the event (it matched and has a probe). */
  readonly resolution?: Promise<Resolution>;
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

const changedFields = new WeakMap<EventEnvelope, readonly string[]>();

/** Once per event, not per subscriber (every subscription of the process gets the same envelope). */
function changedFieldsOf(event: EventEnvelope): readonly string[] {
  let fields = changedFields.get(event);
  if (!fields) {
    const rows = (event.payload as unknown as Partial<SyncEventPayload>).rows ?? [];
    fields = [...new Set(rows.flatMap((row) => Object.keys(row.changed ?? {}).map(camel)))].sort();
    changedFields.set(event, fields);
  }
  return fields;
}

export function createLiveEngine(options: LiveEngineOptions) {
  const { source, log } = options;
  const shared = new SharedResolutions();
  const payloads = new SharedPayloads();
  const router = new EventRouter(source);
  const batcher = new ResolutionBatcher(options.execute, (customers) => options.metrics.liveQueries.observe(customers));

  async function resolve(plan: PayloadPlan, probe: string, event: EventEnvelope, viewer: Viewer): Promise<Resolution> {
    const customerId = event.customerId ?? '';
    const key = `${event.domain}:${event.cursor}`;
    const { query, shapeKey } = plan.resolutionFor(probe);
    return shared.get(key, shapeKey, viewer, plan.readsPii, async () => {
      options.metrics.liveResolutions.inc({ field: plan.field });
      for (let attempt = 1; ; attempt++) {
        const result = await batcher.run(query, ID_VAR, plan.variables, customerId, viewer, plan.readsPii);
        const failed = result.errors.find((e) => !REFUSALS.has(e.extensions?.['code']) && isCheckKey(e.path?.[0]));
        const whole = result.errors.find((e) => !e.path);
        if ((!failed && !whole) || attempt >= RETRIES) return result;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    });
  }

  /**
   * Whether a resolution lets this subscriber see the event: the customer row came back and the
   * probe of the event's domain was not refused. Throws when the graph could not say (fail closed,
   * and the subscription ends resumable rather than skipping the event).
   */
  function readable(resolution: Resolution): boolean {
    const failure = resolution.errors.find(
      (e) => !e.path || (isCheckKey(e.path[0]) && !REFUSALS.has(e.extensions?.['code'])),
    );
    if (failure) throw hubError(ErrorCode.DownstreamServiceError, `An event could not be resolved: ${failure.message}`);
    const data = resolution.data ?? {};
    const refused = new Set(resolution.errors.filter((e) => isCheckKey(e.path?.[0])).map((e) => String(e.path?.[0])));
    if (!data['hubLiveRow'] || refused.has('hubLiveRow')) return false;
    // Readable when one probe came back unrefused (a partner's grant may name only some of them).
    return Object.keys(data).some((key) => key.startsWith(PROBE_ALIAS) && data[key] && !refused.has(key));
  }

  function subscribe(plan: PayloadPlan, session: LiveSession): Channel<ExecutionResult> {
    const channel = new Channel<ExecutionResult>();
    const loaded = options.schema();
    if (!loaded) {
      channel.end(hubError(ErrorCode.DownstreamServiceError, 'The graph is not loaded yet; try again shortly'));
      return channel;
    }
    const live: LiveSchema = loaded;
    if (plan.field === 'syncStatus') {
      void pushStatus(plan, session, channel, live);
      return channel;
    }
    const args = plan.args as {
      domains?: string[] | null;
      customerIds?: string[] | null;
      after?: string | null;
      minDelta?: number | null;
    };
    const health = plan.field === 'customerHealthChanged';
    const wanted = new Set<Domain>(
      health ? ['health'] : args.domains ? args.domains.map((d) => d.toLowerCase() as Domain) : DOMAINS,
    );
    const customers = args.customerIds ? new Set(args.customerIds) : undefined;
    let resumeFrom: StreamVector | undefined;
    try {
      resumeFrom = args.after ? decodeCursor(args.after) : undefined;
    } catch (error) {
      void finish(channel, error);
      return channel;
    }
    const previous = new Map<string, number>();
    const queue: EventEnvelope[] = [];
    let wake: (() => void) | undefined;
    let overflowed = false;
    let vector: StreamVector = {};

    // The cheap filters run before queueing (the tenant of a connection's credentials never changes),
    // so only events this subscription may deliver count against its buffer. The router applies
    // the tenant and customer filters (it hands over only those events); the rest are checked here.
    const tenantId = session.viewer().tenantId;
    let ended = false;
    const unlisten = router.add(tenantId, customers, (event) => {
      if (ended || !wanted.has(event.domain)) return;
      if (health && event.type !== HEALTH_EVENT_TYPE) return;
      if (queue.length >= options.bufferLimit) overflowed = true;
      else queue.push(event);
      wake?.();
    });
    options.metrics.liveSubscriptions.inc({ field: plan.field });
    channel.signal.addEventListener(
      'abort',
      () => {
        ended = true;
        unlisten();
        wake?.();
        options.metrics.liveSubscriptions.dec({ field: plan.field });
      },
      { once: true },
    );

    /**
     * The first half of handling an event: the cheap checks with the subscriber's current viewer,
     * and its resolution started — so that the events waiting in the queue are resolved together
     * (batch.ts) while they are delivered one by one, in order, by `deliver`.
     */
    function prepare(event: EventEnvelope): Prepared {
      if (!isAfter(event.cursor, vector[event.domain])) return { event, skip: true };
      const viewer = session.viewer();
      const matches =
        event.tenantId === viewer.tenantId &&
        event.customerId !== null &&
        (!customers || customers.has(event.customerId)) &&
        (!health || event.type === HEALTH_EVENT_TYPE);
      // The health subscription shows the score: its probe reads it.
      const probe = !matches
        ? undefined
        : health
          ? probeFor(viewer, 'health', live) && `${PROBE_ALIAS}0: health { score }`
          : probeFor(viewer, event.domain, live);
      if (!probe) return { event, skip: false };
      const resolution = resolve(plan, probe, event, viewer);
      // Awaited by `deliver`; a failure is its to raise (not an unhandled rejection meanwhile).
      resolution.catch(() => undefined);
      return { event, skip: false, resolution };
    }

    async function deliver(prepared: Prepared): Promise<void> {
      const { event } = prepared;
      const domain = event.domain;
      if (prepared.skip || !isAfter(event.cursor, vector[domain])) return;
      let payload: Record<string, unknown> | undefined;
      if (prepared.resolution && health) {
        let score: number | undefined;
        try {
          score = healthEventOf(event).score;
        } catch {
          score = undefined;
        }
        const before = previous.get(event.customerId ?? '');
        if (score !== undefined) {
          previous.set(event.customerId ?? '', score);
          if (previous.size > 100_000) previous.delete(previous.keys().next().value ?? '');
          const delta = before === undefined ? null : score - before;
          if (args.minDelta == null || delta === null || Math.abs(delta) >= args.minDelta)
            payload = { committedAt: event.committedAt, score, previousScore: before ?? null, delta };
        }
      } else if (prepared.resolution) {
        payload = {
          domain: domain.toUpperCase(),
          type: event.type,
          changedFields: changedFieldsOf(event),
          committedAt: event.committedAt,
        };
      }
      const resolution = payload && prepared.resolution ? await prepared.resolution : undefined;
      vector = { ...vector, [domain]: event.cursor };
      if (payload && resolution && readable(resolution)) {
        const cursor = encodeCursor(vector);
        const fields = { ...payload, cursor };
        // The payload's fields are the event's and its cursor (health: and the score before it).
        const fieldsKey = `${domain}:${event.cursor}\u0000${cursor}${health ? `\u0000${String(payload['previousScore'])}` : ''}`;
        await channel.push(
          await payloads.get(resolution, live.schema, `${plan.payloadKey}\u0000${fieldsKey}`, () => {
            options.metrics.livePayloads.inc({ field: plan.field });
            return shapePayload(live.schema, plan, fields, resolution);
          }),
        );
        options.metrics.liveDelivered.inc({ field: plan.field });
        options.metrics.liveDeliveryLag.observe(
          { field: plan.field },
          (Date.now() - new Date(event.committedAt).getTime()) / 1000,
        );
      }
    }

    /** Handles `events` in order, their resolutions started together. */
    async function handleAll(events: readonly EventEnvelope[]): Promise<void> {
      const prepared = events.map(prepare);
      for (const item of prepared) {
        if (channel.signal.aborted) return;
        await deliver(item);
      }
    }

    async function run(): Promise<void> {
      await source.ready();
      // Positions before any replay: live events queued from here on are after them.
      const head = source.positions();
      vector = {};
      for (const domain of wanted) vector[domain] = resumeFrom?.[domain] ?? head[domain];
      if (resumeFrom) {
        for (const domain of wanted) {
          for (;;) {
            const after = vector[domain];
            if (after === undefined || channel.signal.aborted) break;
            const page = await source.read(domain, after, PAGE);
            for (let i = 0; i < page.length; i += LOOKAHEAD) await handleAll(page.slice(i, i + LOOKAHEAD));
            if (page.length < PAGE) break;
          }
        }
      }
      while (!channel.signal.aborted) {
        if (overflowed) {
          throw hubError(
            ErrorCode.SubscriberTooSlow,
            'This subscription fell too far behind; resubscribe with `after`',
            {
              cursor: encodeCursor(vector),
            },
          );
        }
        const events = queue.splice(0, LOOKAHEAD);
        if (events.length > 0) await handleAll(events);
        else await new Promise<void>((r) => (wake = r));
      }
    }

    run().then(
      () => channel.end(),
      (error: unknown) => finish(channel, error),
    );
    return channel;
  }

  async function pushStatus(
    plan: PayloadPlan,
    session: LiveSession,
    channel: Channel<ExecutionResult>,
    live: LiveSchema,
  ) {
    const args = plan.args as { intervalMs?: number | null };
    const intervalMs = Math.min(60_000, Math.max(1000, args.intervalMs ?? 5000));
    try {
      while (!channel.signal.aborted) {
        const { query } = plan.resolutionFor(undefined);
        const resolution = await options.execute(query, { ...plan.variables }, session.viewer());
        await channel.push(await shapePayload(live.schema, plan, {}, resolution));
        await new Promise<void>((r) => {
          const timer = setTimeout(r, intervalMs);
          channel.signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true });
        });
      }
      channel.end();
    } catch (error) {
      await finish(channel, error);
    }
  }

  /**
   * A subscription that cannot go on ends with a last result carrying the coded error (then
   * `complete`), not with a thrown iterator, which graphql-ws would turn into closing the socket.
   */
  async function finish(channel: Channel<ExecutionResult>, error: unknown): Promise<void> {
    const coded =
      error instanceof GraphQLError && typeof error.extensions['code'] === 'string'
        ? error
        : hubError(ErrorCode.InternalServerError, 'Internal server error');
    if (coded !== error) log.error({ err: error }, 'live: subscription failed');
    else log.info({ code: coded.extensions['code'], reason: coded.message }, 'live: subscription ended');
    await channel.push({ errors: [coded] });
    channel.end();
  }

  return { subscribe, close: () => source.close() };
}

export type LiveEngine = ReturnType<typeof createLiveEngine>;
export type { GraphQLFormattedError };
