/**
 * The gateway's entity cache (issue 10 item 4; README "Performance", "Entity cache"): the answers
 * of `_entities` fetches for `Customer` representations, per entry of one subgraph, one fetch
 * selection, one viewer scope class (viewerScope.ts) and one customer, dropped by the change events
 * themselves rather than by a clock.
 *
 * Invalidation. Every entity of the graph that the query plans fetch by representation is the
 * `Customer` (the own-keyed types are never fetched through `_entities` by a plan of ours; a
 * representation of another type makes the fetch pass uncached). Fields of one subgraph are computed
 * from other domains' rows (health from usage and support), so an event does not drop "its"
 * entity: it drops every entry of the customer it names, in every subgraph; an event naming no
 * customer (campaigns, segments) drops every entry of its tenant. No index of entries is kept:
 * each entry is stored with the tag it was fetched under — `epoch.tenantGeneration.customerGeneration`,
 * read *before* the fetch — and an event increments the generation, so an entry fetched before a
 * commit and stored after its event no longer matches and is never served (the race of a fetch
 * overtaken by its invalidation). In Redis the generations are INCR'd keys beside the entries;
 * a read is one MGET of the entries and the current generations.
 *
 * The bound. A read can see the old value only between the commit and the moment this gateway's
 * tail of the bus hands the event over (its tail latency; measured in the README). The cache serves
 * only while every tail is caught up (live/source.ts `caughtUp`): from a failed read of a stream
 * until the retry has caught up from its cursor it neither serves nor stores; and with Redis, while
 * the connection is down, and after an invalidation that could not be written until the shared
 * epoch was bumped (which empties the shared cache for every replica). Each replica bumps the epoch
 * when it first catches up, since events committed before it started are in no replica's future.
 * `maxAgeSeconds` is a backstop (memory, and fields computed from the clock), not the mechanism.
 *
 * The same generations tag the response cache's answers (responseCache.ts, `lookupStored`): an
 * answer of named customers under their tags, any other under the tag of a pseudo customer that
 * every event of the tenant bumps. In memory those texts are kept apart, bounded by their bytes.
 *
 * Not cached: partner viewers (their grant lives in the subgraphs' replicas, and its changes are no
 * customer's events), the fetches of a mutation (they read its own write before its event), and
 * selections reading a PII field: the subgraph records every read of unmasked PII in the audit trail
 * (who, which customers, when), and a hit — even the same user's — would be a read it never saw.
 *
 * Errors are never cached, nor anything of a response with an error it does not place on one
 * representation; `null` entities are cached like any answer (their meaning is the scope's).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  Kind,
  getNamedType,
  isObjectType,
  isInterfaceType,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { canonicalJson } from '@hub/core/canonicalJson';
import { isPii, type Classification } from '@hub/core/classification';
import { hubClassification } from '@hub/core/schemaFiles';
import type { Viewer } from '@hub/core/viewer';
import type { EventSource } from './live/source.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { SharedRedis } from './redis.js';
import { scopeClassOf } from './viewerScope.js';

export interface EntityCacheOptions {
  /** Entries kept in process memory (least recently used are evicted). Ignored with Redis. */
  readonly maxEntries: number;
  /** Longest an entry is kept, events or not. */
  readonly maxAgeSeconds: number;
  /** Shared by the replicas when set (the gateway's one connection). */
  readonly redis?: SharedRedis | undefined;
  /** Prefix of every Redis key (`<prefix>:entity:…`). */
  readonly keyPrefix: string;
  /** Bytes of the response cache's bodies kept in process memory (responseCache.ts). Ignored with Redis. */
  readonly responseBytes?: number | undefined;
  /** The loaded API schema: which selections read PII. */
  readonly schema: () => GraphQLSchema | undefined;
  readonly metrics?: GatewayMetrics | undefined;
  readonly log: Logger;
}

/** What the cache holds for one fetch's representations, and how the misses are stored. */
export interface EntityLookup {
  /** Index in the representations -> the cached entity (`null` included). */
  readonly hits: ReadonlyMap<number, unknown>;
  /** Stores the entity fetched for representation `index`, unless an event came since the lookup. */
  store(index: number, entity: unknown): void;
}

/** A stored text under the tags of its customers (the response cache's entries, responseCache.ts). */
export interface StoredLookup {
  /** The stored text, if it was stored under the tags that hold now. */
  readonly value: string | undefined;
  /** Stores `value` under the tags read by the lookup, unless an event came since (then it is never served). */
  store(value: string): void;
}

export interface EntityCache {
  /** Undefined when this fetch is not cached (not a Customer entity fetch, or the cache not serving). */
  lookup(
    subgraph: string,
    query: string,
    variables: Record<string, unknown>,
    viewer: Viewer,
  ): Promise<EntityLookup | undefined>;
  /**
   * The same generations for a text other than an entity: `customers` names what the text depends
   * on (it is dropped by their events and by the tenant's customer-less ones); `null`, everything of
   * the tenant (dropped by any event of the tenant). Undefined when the cache does not serve now.
   */
  lookupStored(tenant: string, customers: readonly string[] | null, key: string): Promise<StoredLookup | undefined>;
  /** Invalidates by every event of `source`, and serves only while it is caught up. */
  follow(source: EventSource): void;
  /** Whether lookups are answered now. */
  serving(): boolean;
  close(): void;
}

const ENTITY_TYPE = 'Customer';
/**
 * A pseudo customer whose generation every event of the tenant bumps: the tag of a text that
 * depends on all of the tenant's rows (a list). Customer ids are never `*`; were one, its events
 * would only drop more.
 */
const ANY_CUSTOMER = '*';
/** Keys of stored texts (not entities), kept apart in memory: bounded by bytes, not by count. */
const TEXT_KEY = 'r:';

interface Store {
  /** The current tag of each customer (`epoch.tenant.customer`) and the stored value of each key. */
  read(
    tenant: string,
    customers: readonly string[],
    keys: readonly string[],
  ): Promise<{ tags: string[]; values: (string | undefined)[] }>;
  write(entries: readonly { key: string; value: string }[]): void;
  bump(tenant: string, customer: string | null): void;
  flush(): Promise<void>;
}

function memoryStore(maxEntries: number, maxAgeSeconds: number, textBytes: number): Store {
  // Each entry at most the backstop age (lru-cache counts milliseconds); a read counts as a use.
  const entries = new LRUCache<string, string>({ max: maxEntries, ttl: maxAgeSeconds * 1000 });
  // The response cache's bodies vary from bytes to hundreds of kilobytes: bounded by their size.
  const texts = new LRUCache<string, string>({
    maxSize: textBytes,
    sizeCalculation: (value, key) => value.length + key.length,
    ttl: maxAgeSeconds * 1000,
  });
  const generations = new Map<string, number>();
  let epoch = 0;
  const gen = (key: string) => generations.get(key) ?? 0;
  return {
    async read(tenant, customers, keys) {
      const tenantGen = gen(`t\u0000${tenant}`);
      const tags = customers.map((c) => `${epoch}.${tenantGen}.${gen(`c\u0000${tenant}\u0000${c}`)}`);
      return {
        tags,
        values: keys.map((k) => (k.startsWith(TEXT_KEY) ? texts.get(k) : entries.get(k))),
      };
    },
    write(list) {
      for (const { key, value } of list) {
        if (key.startsWith(TEXT_KEY)) texts.set(key, value);
        else entries.set(key, value);
      }
    },
    bump(tenant, customer) {
      const key = customer === null ? `t\u0000${tenant}` : `c\u0000${tenant}\u0000${customer}`;
      generations.set(key, gen(key) + 1);
    },
    async flush() {
      epoch++;
    },
  };
}

function redisStore(redis: SharedRedis, prefix: string, maxAgeSeconds: number, lost: () => void): Store {
  const { client } = redis;
  const epochKey = `${prefix}:entity:epoch`;
  const genKey = (tenant: string, customer: string | null) =>
    customer === null ? `${prefix}:entity:gen:${tenant}` : `${prefix}:entity:gen:${tenant}:${customer}`;
  const entryKey = (key: string) => `${prefix}:entity:e:${key}`;
  return {
    async read(tenant, customers, keys) {
      // One round trip on the connection the invalidations use: Redis answers in order, so every
      // INCR this replica sent before is seen.
      const answer = await client.mget(
        epochKey,
        genKey(tenant, null),
        ...customers.map((c) => genKey(tenant, c)),
        ...keys.map(entryKey),
      );
      const [epoch, tenantGen] = [answer[0] ?? '0', answer[1] ?? '0'];
      const tags = customers.map((_, i) => `${epoch}.${tenantGen}.${answer[2 + i] ?? '0'}`);
      const values = answer.slice(2 + customers.length).map((v) => v ?? undefined);
      return { tags, values };
    },
    write(list) {
      if (list.length === 0) return;
      const pipeline = client.pipeline();
      for (const { key, value } of list) pipeline.set(entryKey(key), value, 'EX', maxAgeSeconds);
      // A lost write only costs a miss later.
      pipeline.exec().catch(() => undefined);
    },
    bump(tenant, customer) {
      client.incr(genKey(tenant, customer)).catch(lost);
    },
    async flush() {
      await client.incr(epochKey);
    },
  };
}

/**
 * Whether `set`, a selection on `type` within `document`, reads a PII-classified field or one it
 * cannot place (then: yes). The entity cache's and the response cache's one rule.
 */
export function selectionReadsPii(
  schema: GraphQLSchema,
  classification: Classification,
  document: DocumentNode,
  type: GraphQLNamedType | undefined,
  set: SelectionSetNode,
): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walk = (parent: GraphQLNamedType | undefined, selections: SelectionSetNode, depth: number): boolean => {
    if (depth > 32) return true;
    for (const selection of selections.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const inner = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (walk(inner ?? undefined, selection.selectionSet, depth + 1)) return true;
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) return true;
        if (walk(schema.getType(fragment.typeCondition.name.value) ?? undefined, fragment.selectionSet, depth + 1))
          return true;
      } else {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        if (!parent || !(isObjectType(parent) || isInterfaceType(parent))) return true;
        const field = parent.getFields()[name];
        if (!field || isPii(classification, `${parent.name}.${name}`)) return true;
        if (selection.selectionSet && walk(getNamedType(field.type), selection.selectionSet, depth + 1)) return true;
      }
    }
    return false;
  };
  return walk(type, set, 0);
}

/** Whether the `_entities` selection of `document` reads a PII-classified field (unknown: yes). */
function selectsPii(schema: GraphQLSchema, classification: Classification, document: DocumentNode): boolean {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  const entities = operation?.selectionSet.selections[0];
  // Below `_entities` (a union of the entity types), only `... on Customer { … }` names a type.
  if (entities?.kind !== Kind.FIELD || !entities.selectionSet) return true;
  return selectionReadsPii(schema, classification, document, undefined, entities.selectionSet);
}

/** The fetch is exactly `query { _entities(representations: …) { … } }`. */
function isEntitiesOnly(document: DocumentNode): boolean {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const [operation] = operations;
  if (operations.length !== 1 || !operation || operation.operation !== 'query') return false;
  const fields = operation.selectionSet.selections;
  return (
    fields.length === 1 && fields[0]?.kind === Kind.FIELD && fields[0].name.value === '_entities' && !fields[0].alias
  );
}

interface FetchShape {
  readonly cacheable: boolean;
  readonly readsPii: boolean;
}

export function createEntityCache(options: EntityCacheOptions): EntityCache {
  const { metrics, log } = options;
  let classification: Classification | undefined;
  // Bumped whenever the cache stops serving: a lookup made before then stores nothing after.
  let health = 0;
  let source: EventSource | undefined;
  let flushPending = options.redis !== undefined;
  const lost = () => {
    if (!flushPending)
      log.warn('entity cache: an invalidation could not be written to Redis; not serving until it is flushed');
    flushPending = true;
    health++;
  };
  const store = options.redis
    ? redisStore(options.redis, options.keyPrefix, options.maxAgeSeconds, lost)
    : memoryStore(options.maxEntries, options.maxAgeSeconds, options.responseBytes ?? 64 * 1024 * 1024);
  let flushing: Promise<void> | undefined;
  const flushShared = () => {
    flushing ??= store
      .flush()
      .then(() => {
        flushPending = false;
      })
      .catch(() => undefined)
      .finally(() => (flushing = undefined));
  };
  options.redis?.onChange((ready) => {
    if (!ready) health++;
    else if (flushPending && source?.caughtUp()) flushShared();
  });

  const serving = () =>
    source !== undefined &&
    source.caughtUp() &&
    !flushPending &&
    (options.redis === undefined || options.redis.ready());

  const shapes = new Map<string, FetchShape>();
  let shapesOf: GraphQLSchema | undefined;
  const shapeOf = (query: string): FetchShape => {
    const schema = options.schema();
    if (schema !== shapesOf) {
      shapes.clear();
      shapesOf = schema;
    }
    let shape = shapes.get(query);
    if (!shape) {
      let document: DocumentNode | undefined;
      try {
        document = parse(query);
      } catch {
        document = undefined;
      }
      const cacheable = document !== undefined && isEntitiesOnly(document);
      shape = {
        cacheable,
        readsPii:
          !document || !cacheable || !schema || selectsPii(schema, (classification ??= hubClassification()), document),
      };
      if (shapes.size >= 10_000) shapes.clear();
      shapes.set(query, shape);
    }
    return shape;
  };

  return {
    serving,
    async lookup(subgraph, query, variables, viewer) {
      const { representations, ...rest } = variables;
      const tenant = viewer.tenantId;
      // A partner's grant (its customers and fields) is read from each subgraph's replica, not
      // carried by the viewer, and a change of it is no change event of a customer: never cached.
      if (viewer.grantId !== undefined) return undefined;
      if (tenant === null || !Array.isArray(representations) || representations.length === 0) return undefined;
      const customers: string[] = [];
      for (const r of representations as unknown[]) {
        if (typeof r !== 'object' || r === null) return undefined;
        const { __typename, id, ...more } = r as Record<string, unknown>;
        if (__typename !== ENTITY_TYPE || typeof id !== 'string' || Object.keys(more).length > 0) return undefined;
        customers.push(id);
      }
      const shape = shapeOf(query);
      if (!shape.cacheable || shape.readsPii) return undefined;
      if (!serving()) {
        metrics?.entityCacheLookups.inc({ subgraph, outcome: 'bypass' }, customers.length);
        return undefined;
      }
      const started = health;
      const fetchKey = createHash('sha256')
        .update(`${subgraph}\u0000${query}\u0000${canonicalJson(rest)}\u0000${scopeClassOf(viewer)}`)
        .digest('base64url');
      const keys = customers.map((id) => `${fetchKey}:${id}`);
      let read: Awaited<ReturnType<Store['read']>>;
      try {
        read = await store.read(tenant, customers, keys);
      } catch {
        metrics?.entityCacheLookups.inc({ subgraph, outcome: 'bypass' }, customers.length);
        return undefined;
      }
      const hits = new Map<number, unknown>();
      read.values.forEach((value, i) => {
        const cut = value?.indexOf('\n') ?? -1;
        if (value !== undefined && cut > 0 && value.slice(0, cut) === read.tags[i])
          hits.set(i, JSON.parse(value.slice(cut + 1)));
      });
      metrics?.entityCacheLookups.inc({ subgraph, outcome: 'hit' }, hits.size);
      metrics?.entityCacheLookups.inc({ subgraph, outcome: 'miss' }, customers.length - hits.size);
      const pending: { key: string; value: string }[] = [];
      let scheduled = false;
      return {
        hits,
        store(index, entity) {
          const key = keys[index];
          const tag = read.tags[index];
          if (key === undefined || tag === undefined || health !== started || !serving()) return;
          pending.push({ key, value: `${tag}\n${JSON.stringify(entity)}` });
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(() => store.write(pending));
          }
        },
      };
    },
    async lookupStored(tenant, customers, key) {
      if (!serving()) return undefined;
      const started = health;
      const names = customers ?? [ANY_CUSTOMER];
      let read: Awaited<ReturnType<Store['read']>>;
      try {
        read = await store.read(tenant, names, [TEXT_KEY + key]);
      } catch {
        return undefined;
      }
      const tag = read.tags.join(',');
      const stored = read.values[0];
      const cut = stored?.indexOf('\n') ?? -1;
      return {
        value: stored !== undefined && cut > 0 && stored.slice(0, cut) === tag ? stored.slice(cut + 1) : undefined,
        store(value) {
          if (health !== started || !serving()) return;
          store.write([{ key: TEXT_KEY + key, value: `${tag}\n${value}` }]);
        },
      };
    },
    follow(events) {
      source = events;
      events.listen((event) => {
        store.bump(event.tenantId, event.customerId);
        // Texts of the whole tenant (lists) depend on every customer's change too.
        if (event.customerId !== null) store.bump(event.tenantId, ANY_CUSTOMER);
        metrics?.entityCacheInvalidations.inc({ scope: event.customerId === null ? 'tenant' : 'customer' });
      });
      events.onCaughtUp((caughtUp) => {
        if (!caughtUp) {
          health++;
          log.warn('entity cache: a change-event stream is behind or unreachable; not serving until it has caught up');
        } else if (flushPending && (options.redis === undefined || options.redis.ready())) flushShared();
      });
      if (options.redis === undefined) flushPending = false;
    },
    close() {
      source = undefined;
    },
  };
}
