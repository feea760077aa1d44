/**
 * One resolution per event, payload shape and scope class (viewerScope.ts): subscribers whose
 * query, variables and viewer scope are the same get the same answer from the graph, so it is asked
 * once — never across tenants, books or grants. And one payload per such resolution, subscription
 * document and event fields (`SharedPayloads`): the subscribers that share a resolution and asked
 * the same subscription get the same result, so it is shaped once, not once per subscriber.
 */
import type { ExecutionResult, GraphQLSchema } from 'graphql';
import type { Viewer } from '@hub/core/viewer';
import { scopeClassOf } from '../viewerScope.js';
import type { Resolution } from './payload.js';

/** How long a settled resolution stays shareable (subscribers of one event run close together). */
const KEEP_MS = 10_000;
const MAX_ENTRIES = 50_000;

export class SharedResolutions {
  private readonly entries = new Map<string, { promise: Promise<Resolution>; at: number }>();
  /** Resolutions asked of the graph (tests and metrics: sharing is measured, not assumed). */
  executed = 0;

  /** `perUser`: the payload reads PII, whose reads are audited per user — share within one user only. */
  get(
    eventKey: string,
    shapeKey: string,
    viewer: Viewer,
    perUser: boolean,
    run: () => Promise<Resolution>,
  ): Promise<Resolution> {
    const key = `${eventKey}\u0000${shapeKey}\u0000${scopeClassOf(viewer)}${perUser ? `\u0000${viewer.userId}` : ''}`;
    const now = Date.now();
    const existing = this.entries.get(key);
    if (existing && now - existing.at < KEEP_MS) return existing.promise;
    this.executed++;
    const promise = run();
    // A failed resolution is not shared: the next subscriber asks again.
    promise.catch(() => this.entries.delete(key));
    this.entries.set(key, { promise, at: now });
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
    return promise;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.at >= KEEP_MS || this.entries.size > MAX_ENTRIES) this.entries.delete(key);
      else break;
    }
  }
}

/**
 * Shaped payloads, held by the resolution they were shaped from: the subscribers of one shared
 * resolution (same event, query, variables and scope) whose subscription documents, variables and
 * event fields (cursor included) are the same get one result object, shaped once. Nothing else
 * goes into a payload (shapePayload is a function of exactly these and the schema), so sharing it
 * shows no subscriber anything its own shaping would not have; a schema reload starts afresh.
 */
export class SharedPayloads {
  private readonly byResolution = new WeakMap<
    Resolution,
    { schema: GraphQLSchema; payloads: Map<string, Promise<ExecutionResult>> }
  >();
  get(
    resolution: Resolution,
    schema: GraphQLSchema,
    /**
     * The subscription's document, operation name and variables (payload.ts `payloadKey`) and
     * what identifies the event fields the payload is shaped with (the event, its cursor).
     */
    key: string,
    shape: () => Promise<ExecutionResult>,
  ): Promise<ExecutionResult> {
    let held = this.byResolution.get(resolution);
    if (!held || held.schema !== schema) {
      held = { schema, payloads: new Map() };
      this.byResolution.set(resolution, held);
    }
    let payload = held.payloads.get(key);
    if (!payload) {
      payload = shape();
      held.payloads.set(key, payload);
      const payloads = held.payloads;
      payload.catch(() => payloads.delete(key));
    }
    return payload;
  }
}
