import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import {
  openStore,
  viewerClients,
  migrationsDirFor,
  storeConfigFromEnv,
  type CustomerKeys,
  type Store,
  type StoreSql,
  type StoreConfig,
} from '@hub/store';
import {
  applyAuthorization,
  coversRow,
  isMutationRequest,
  PII_ROLES,
  requestScopes,
  type PermissionOverrides,
} from './authz.js';
import express from 'express';
import { parse, type DocumentNode } from 'graphql';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { EnvReader, isProduction, readMasterKeys } from './config.js';
import { enableEncryption, type MasterKeyProvider } from './crypto/index.js';
import { DEFAULT_PLAINTEXT_CACHE, encryptionPlan, storeTables } from './crypto/fields.js';
import { DEMO_TENANTS, seedContext, type SeedContext } from './demo.js';
import { rotateKeysJob } from './crypto/rotate.js';
import { DOMAINS, SUBGRAPH_PORTS, type Domain } from './domains.js';
import { GATEWAY_PRINCIPAL, devKeyPair, readSigningKey } from './keys.js';
import { createErrorFormatter, ErrorCode, unauthenticated } from './errors.js';
import { useErrorLogging } from './errorLogging.js';
import { useInputChecks } from './inputs.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, routeLabel, type ProcessMetrics } from './metrics.js';
import {
  readMetricsEndpoint,
  serveMetrics,
  startMetricsServer,
  type MetricsEndpointConfig,
  type MetricsServer,
} from './metricsEndpoint.js';
import { scalarResolvers } from './scalars.js';
import {
  readTracingConfig,
  serverSpans,
  startTracing,
  statementSpans,
  tracingPlugin,
  type TracingConfig,
} from './tracing.js';
import {
  REQUEST_ID_HEADER,
  VIEWER_HEADER,
  ViewerVerificationError,
  createViewerSigner,
  createViewerVerifier,
  serviceIssuer,
  type ScopedViewer,
  type Viewer,
} from './viewer.js';
import { ownTablesDirectory, replicaDirectory, type CustomerDirectory } from './replica.js';
import {
  bootstrapReplica,
  createSnapshotReader,
  replicaBehind,
  replicaConsumer,
  waitCaughtUp,
  type ReplicaSnapshot,
} from './replicaFeed.js';
import { createSyncAdmin, type SyncAdmin } from './sync/admin.js';
import { classifyDocument } from './classification.js';
import { appendAudit, auditTrail, PiiReadLog, viewerActor } from './audit.js';
import { retentionJob } from './retention.js';
import { anomalyJob } from './events/anomalyJob.js';
import { reconcileJob, type ReconcileCheck } from './reconcile.js';
import { logCheck, replicaCheck } from './reconcileChecks.js';
import { Counter } from 'prom-client';
import {
  createErasureAdmin,
  erasurePlan,
  type ErasureAdmin,
  type ErasureDeclaration,
  type ErasurePlan,
} from './erasure.js';
import { createSyncPipeline, type SyncPipeline, type SyncPipelineOptions } from './sync/engine.js';
import { syncResolvers, type SyncRequestContext } from './sync/sdl.js';
import { subgraphSdl } from './schemaFiles.js';
import type { SyncDefinition } from './sync/types.js';
import { createEventsAdmin, type EventsAdmin } from './events/admin.js';
import { integrationHealthJob } from './events/integrationHealth.js';
import { createJobRunner, type JobRunner } from './events/jobs.js';
import type { JobDefinition } from './events/types.js';
import { createEmbeddedBus, type EmbeddedBus } from './events/bus-embedded.js';
import { createConsumerRuntime, type ConsumerRuntime } from './events/consumer.js';
import { eventAdminResolvers, eventsResolvers } from './events/graphql.js';
import { createEventMetrics, createSyncHealthMetrics } from './events/metrics.js';
import { createNatsBus } from './events/bus-nats.js';
import { createRemoteStreamReader } from './events/remote.js';
import { startRelay, type Relay } from './events/relay.js';
import { DEFAULT_BATCH, type BatchPolicy, type ConsumerDefinition, type EventBus } from './events/types.js';

export { SUBGRAPH_PORTS, DOMAINS, type Domain } from './domains.js';

/** What every resolver and loader of a subgraph receives. */
export interface SubgraphContext<C, L> {
  viewer: Viewer;
  /** The domain store, scoped to the viewer's tenant: every model operation is filtered by it. */
  db: C;
  loaders: L;
  requestId: string;
  log: Logger;
  /**
   * The one write pipeline (packages/core/src/sync), built per request for this viewer: mutations
   * call `applyOne`, the sync API `apply`; `admin` serves the sync bookkeeping fields.
   */
  sync: SyncRequestContext['sync'];
  /** Change events (issue 8): the bus this process publishes to and reads from, and its consumers. */
  events: SubgraphEvents;
  /** The customers whose contact PII the masks let through unmasked (authz.ts); audited when the request ends. */
  piiReads: PiiReadLog;
}

export interface SubgraphEvents {
  readonly bus: EventBus;
  /** This process's consumer runtime (undefined with HUB_CONSUMERS=0 or no consumers declared). */
  readonly consumers: ConsumerRuntime | undefined;
  /** Tells the relay (and local readers) that this store committed outbox rows written outside the pipeline. */
  wake(): void;
}

export interface SubgraphDefinition<C, L> {
  name: string;
  typeDefs: DocumentNode;
  /** The subgraph's codegen `Resolvers` object. */
  resolvers: object;
  PrismaClient: new (options: never) => C;
  createLoaders(db: C, viewer: Viewer): L;
  /**
   * Row scope: per Prisma model, the column holding the customer id (`id` for Customer), or null
   * for tenant-wide models. A model missing here is refused to customer-scoped viewers.
   */
  customerKeys: CustomerKeys;
  /** Exceptions to the role matrix of packages/core/src/authz.ts, e.g. admin-only fields. */
  permissions?: PermissionOverrides;
  /**
   * Loads the demo data set; must be idempotent. `seed.insertRows` writes a chunk of an unencrypted
   * model as one raw INSERT (demo.ts); encrypted models go through `client` (`createMany`).
   */
  seedDemo?(client: C, seed: SeedContext): Promise<void>;
  /**
   * The domain's sync declaration (`subgraphs/<domain>/src/sync.ts`). Required exactly when its
   * schema.graphql declares `input <Domain>SyncEventInput`, which adds the sync API to the subgraph.
   */
  sync?: SyncDefinition;
  /**
   * The domain's batch jobs (`subgraphs/<domain>/src/jobs.ts`), run by the job runner in this
   * process (the one that owns the store). Every domain also runs the weekly `integration-health`.
   */
  jobs?: readonly JobDefinition[];
  /**
   * The domain's reactions to other domains' events (`subgraphs/<domain>/src/consumers.ts`), run in
   * this subgraph's process against its store (events/consumer.ts).
   */
  consumers?: readonly ConsumerDefinition[];
  /**
   * Right to erasure (erasure.ts): models the domain must keep (with the reason) and customer-keyed
   * models the graph does not serve. Every other customer-keyed model's rows of an erased customer go.
   */
  erasure?: ErasureDeclaration;
  /**
   * The domain's own reconciliation checks (reconcile.ts), run by the daily `reconcile` job after the
   * kit's `replica` and `log` checks, e.g. health's stored health against the formula.
   */
  reconcile?: readonly ReconcileCheck[];
}

export interface SubgraphConfig {
  port: number;
  host: string;
  store: StoreConfig;
  seedDemo: boolean;
  migrate: boolean;
  /** Verifies the viewer tokens the gateway signs. */
  gatewayPublicKey: KeyObject;
  /** This subgraph's own identity, for its calls to another subgraph (none for customers, which calls nobody). */
  servicePrivateKey: KeyObject | undefined;
  /** Public keys of the subgraphs whose own calls this one accepts (only for what its permissions grant `service`). */
  trustedServices: Readonly<Record<string, KeyObject>>;
  /** The customers subgraph, whose `_replicaSnapshot` fills a new store's customer replica. */
  customersUrl: string;
  /** Where each subgraph listens (`HUB_SUBGRAPH_<DOMAIN>_URL`): the embedded bus reads their streams there. */
  subgraphUrls: Readonly<Record<Domain, string>>;
  /** Run the outbox relay in this process (`HUB_RELAY`, default on). */
  relay: boolean;
  /** Run the domain's consumers in this process (`HUB_CONSUMERS`, default on). */
  consumers: boolean;
  /**
   * Consumer batches (`HUB_CONSUMER_BATCH` events, default 256; `HUB_CONSUMER_LINGER_MS`, default 5):
   * ready events of one stream applied in one transaction (events/consumer.ts).
   */
  consumerBatch: BatchPolicy;
  /** NATS JetStream server(s) (`NATS_URL`, comma-separated); absent: the embedded bus. */
  natsUrl: string | undefined;
  /** Prefix of JetStream stream and consumer names (`HUB_NATS_PREFIX`, default `HUB`), for isolation. */
  natsPrefix: string;
  exposeErrors: boolean;
  logLevel: string;
  /** `/metrics`: a separate listener in production (default port 9401–9407), optionally token-protected. */
  metrics: MetricsEndpointConfig;
  /**
   * Schedule and run the domain's jobs in this process (`HUB_JOBS`, default on). Off, the process
   * still queues runs (run<Domain>Job) and serves their records: an API-only replica.
   */
  jobs: boolean;
  /**
   * Where the retention job exports what it removes (`HUB_ARCHIVE_DIR`, default `.data/archive`,
   * resolved against the working directory; retention.ts).
   */
  archiveDir: string;
  /** OpenTelemetry traces (tracing.ts): off unless an OTLP endpoint is configured. */
  tracing: TracingConfig;
  /**
   * Master keys of encryption at rest (HUB_MASTER_KEY, HUB_MASTER_KEY_PREVIOUS; config.ts). Null
   * stores PII columns in plaintext: for the side-by-side benchmark only, never from the environment.
   */
  masterKeys: MasterKeyProvider | null;
  /** Decrypted values kept per process (HUB_ENCRYPTION_CACHE, default 20,000; 0: none). */
  encryptionCache: number;
  /** Job runner tuning (tests): pg-boss polling and retry delay, orphan check interval, seconds. */
  jobTuning?: { pollingIntervalSeconds?: number; retryDelaySeconds?: number; orphanCheckSeconds?: number };
}

export interface RunningSubgraph<C = unknown> {
  url: string;
  port: number;
  /** Where `/metrics` is served: the separate metrics listener, or the main port in development. */
  metricsUrl: string;
  store: Store<C>;
  metrics: ProcessMetrics;
  /** The domain's job runner (scheduling and working only when `config.jobs`). */
  jobs: JobRunner;
  events: SubgraphEvents;
  /** The store's outbox relay (undefined with HUB_RELAY=0). */
  relay: Relay | undefined;
  stop(): Promise<void>;
}

export { subgraphSchemaPath, subgraphSdl } from './schemaFiles.js';

/** Resolver maps merged type by type (a domain's Query/Mutation beside the sync fields). */
function mergeResolvers(...maps: object[]): Record<string, Record<string, unknown>> {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map as Record<string, Record<string, unknown>>)) {
      merged[type] = { ...merged[type], ...fields };
    }
  }
  return merged;
}

/** Whether a built schema document carries the sync API (see subgraphSdl). */
function hasSyncInput(def: { name: string; typeDefs: DocumentNode }): boolean {
  const name = `${def.name.charAt(0).toUpperCase()}${def.name.slice(1)}SyncEventInput`;
  return def.typeDefs.definitions.some((d) => d.kind === 'InputObjectTypeDefinition' && d.name.value === name);
}

/** `loadSchema(import.meta.url, '../schema.graphql')` from a subgraph's src/server.ts. */
export function loadSchema(metaUrl: string, relativePath: string): DocumentNode {
  return parse(subgraphSdl(fileURLToPath(new URL(relativePath, metaUrl))));
}

export function subgraphConfigFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Readonly<SubgraphConfig> {
  const read = new EnvReader(env);
  const production = isProduction(env);
  const defaultPort = (SUBGRAPH_PORTS as Record<string, number>)[name] ?? 0;
  const key = (variable: string, kind: 'private' | 'public', principal: string, required: boolean) =>
    readSigningKey(read, variable, kind, { devDefault: devKeyPair(principal)[`${kind}Key`], production, required });
  const gatewayPublicKey = key('HUB_GATEWAY_PUBLIC_KEY', 'public', GATEWAY_PRINCIPAL, true);
  // Every domain but customers reads the customers stream and snapshot, as itself.
  const servicePrivateKey = key('HUB_SERVICE_PRIVATE_KEY', 'private', name, name !== 'customers');
  const trustedServices: Record<string, KeyObject> = {};
  for (const other of DOMAINS.filter((domain) => domain !== name)) {
    const trusted = key(`HUB_SERVICE_${other.toUpperCase()}_PUBLIC_KEY`, 'public', other, false);
    if (trusted) trustedServices[other] = trusted;
  }
  const port = read.int('PORT', defaultPort, { max: 65535 });
  const subgraphUrls = Object.fromEntries(
    DOMAINS.map((d) => [
      d,
      read.string(`HUB_SUBGRAPH_${d.toUpperCase()}_URL`, `http://127.0.0.1:${SUBGRAPH_PORTS[d]}/graphql`),
    ]),
  ) as Record<Domain, string>;
  const host = read.string('HOST', '127.0.0.1');
  return read.done({
    port,
    host,
    store: storeConfigFromEnv(name, env),
    seedDemo: read.bool('HUB_SEED_DEMO', false),
    migrate: read.bool('HUB_MIGRATE', true),
    gatewayPublicKey: gatewayPublicKey as KeyObject,
    servicePrivateKey,
    trustedServices,
    customersUrl: read.string('HUB_CUSTOMERS_URL', subgraphUrls.customers),
    subgraphUrls,
    relay: read.bool('HUB_RELAY', true),
    consumers: read.bool('HUB_CONSUMERS', true),
    consumerBatch: {
      maxEvents: read.int('HUB_CONSUMER_BATCH', DEFAULT_BATCH.maxEvents, { min: 1, max: 10_000 }),
      lingerMs: read.int('HUB_CONSUMER_LINGER_MS', DEFAULT_BATCH.lingerMs, { min: 0, max: 1000 }),
    },
    natsUrl: read.optional('NATS_URL'),
    natsPrefix: read.string('HUB_NATS_PREFIX', 'HUB'),
    exposeErrors: read.bool('HUB_EXPOSE_ERRORS', env['NODE_ENV'] === 'development'),
    logLevel: read.string('LOG_LEVEL', 'info'),
    metrics: readMetricsEndpoint(read, { production, host, port, defaultPort: defaultPort + 5400 }),
    jobs: read.bool('HUB_JOBS', true),
    archiveDir: path.resolve(read.string('HUB_ARCHIVE_DIR', path.join('.data', 'archive'))),
    tracing: readTracingConfig(read, `subgraph-${name}`),
    masterKeys: readMasterKeys(read, production),
    encryptionCache: read.int('HUB_ENCRYPTION_CACHE', DEFAULT_PLAINTEXT_CACHE, { max: 1_000_000 }),
  });
}

/** The routes a subgraph serves; any other path is counted as `other` in the HTTP metrics. */
const SUBGRAPH_ROUTES = ['/graphql', '/healthz', '/readyz', '/metrics'] as const;

/**
 * Records the request's unmasked PII reads (`ctx.piiReads`) in the audit trail: one entry when the
 * request ends, naming every customer read, before the answer leaves. A failure to record is logged
 * as an error (the answer is already computed; the log line names the request).
 */
function piiReadAudit<C, L>(sql: StoreSql, domain: Domain, log: Logger): ApolloServerPlugin<SubgraphContext<C, L>> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, request }) {
          const reads = contextValue?.piiReads;
          const viewer = contextValue?.viewer;
          if (!reads || !viewer || reads.size === 0 || viewer.tenantId === null) return;
          const entry = reads.entry(viewerActor(viewer), request.operationName ?? null);
          if (!entry) return;
          try {
            await appendAudit(sql, viewer.tenantId, domain, [entry]);
          } catch (error) {
            log.error({ err: error, requestId: contextValue.requestId }, 'a PII read could not be audited');
          }
        },
      };
    },
  };
}

function metricsPlugin(metrics: ProcessMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            metrics.graphqlErrors.inc({ code: String(error.extensions?.['code'] ?? ErrorCode.InternalServerError) });
          }
        },
      };
    },
  };
}

/**
 * The request's `ctx.sync`, built on first use: most requests are reads and never write, so the
 * pipelines (one for writes, one for admin repairs) cost nothing until a resolver calls them.
 */
function requestSync(options: {
  definition: SyncDefinition;
  client: unknown;
  viewer: ScopedViewer;
  scope: SyncPipelineOptions['scope'];
  customerKeys: SyncPipelineOptions['customerKeys'];
  verifyCustomers: () => SyncPipelineOptions['verifyCustomers'];
  log: Logger;
  store: Store<unknown>;
  runner: JobRunner;
  /** The consumers this process declares and the bus they read (for `status`). */
  consumers: () => readonly { name: string; from: Domain }[];
  bus: () => EventBus | undefined;
  onCommitted: () => void;
  erasure: ErasurePlan;
  /** The request's unmasked PII reads (audit.ts): the bookkeeping's too. */
  piiReads: PiiReadLog;
}): SyncRequestContext['sync'] {
  const { viewer } = options;
  const actor = `${viewer.roles[0] ?? 'viewer'}:${viewer.userId}`;
  // An integration account writes as the source system it was issued for (its principal name), and
  // only it may write as that source where the source is a field's system of record.
  const integration = viewer.roles.includes('integration');
  const pipelineWith = (claimableSources: SyncPipelineOptions['claimableSources']) =>
    createSyncPipeline({
      definition: options.definition,
      client: options.client,
      scope: options.scope,
      customerKeys: options.customerKeys,
      verifyCustomers: options.verifyCustomers(),
      defaultSource: integration ? viewer.userId : actor,
      claimableSources,
      actor: viewerActor(viewer),
      log: options.log,
      onCommitted: options.onCommitted,
    });
  let pipeline: SyncPipeline | undefined;
  let admin: SyncAdmin | undefined;
  let events: EventsAdmin | undefined;
  let erasure: ErasureAdmin | undefined;
  const writes = () => (pipeline ??= pipelineWith(new Set(integration ? [viewer.userId] : [])));
  return {
    domain: options.definition.domain,
    get events() {
      return (events ??= createEventsAdmin({
        domain: options.definition.domain as Domain,
        sql: options.store.sql,
        tenantId: viewer.tenantId,
        runner: options.runner,
        consumers: options.consumers,
        bus: options.bus,
      }));
    },
    get erasure() {
      return (erasure ??= createErasureAdmin({
        sql: options.store.sql,
        plan: options.erasure,
        tenantId: viewer.tenantId,
        actor,
        auditActor: viewerActor(viewer),
        onCommitted: options.onCommitted,
      }));
    },
    auditTrail: (args) => auditTrail(options.store.sql, viewer.tenantId, options.definition.domain, args),
    apply: (events) => writes().apply(events),
    applyOne: (event) => writes().applyOne(event),
    get admin() {
      // Repairs re-apply stored events under the source they arrived with, or an override: an admin
      // any, an integration account (replays only, authz.ts) the letters of its own events.
      return (admin ??= createSyncAdmin({
        client: options.client,
        domain: options.definition.domain,
        tenantId: viewer.tenantId,
        actor,
        replaySources: viewer.roles.includes('admin') ? 'all' : new Set([viewer.userId]),
        // The PII in conflicts and dead letters, as the graph's masks show a contact's (authz.ts).
        revealPii(customerId, coordinate) {
          if (!coversRow(viewer, PII_ROLES, customerId ?? undefined)) return false;
          options.piiReads.add(customerId ?? '(unknown)', coordinate);
          return true;
        },
        pipeline: pipelineWith('all'),
      }));
    },
  };
}

/**
 * Starts one domain subgraph: opens and migrates its store, optionally seeds the demo data,
 * serves `/graphql` (only to gateway-signed requests), `/healthz`, `/readyz` and `/metrics`.
 */
export async function startSubgraph<C, L>(
  def: SubgraphDefinition<C, L>,
  overrides: Partial<SubgraphConfig> = {},
): Promise<RunningSubgraph<C>> {
  const config = { ...subgraphConfigFromEnv(def.name), ...overrides };
  const log = createLogger(`subgraph-${def.name}`, config.logLevel);
  const metrics = createMetrics(`subgraph-${def.name}`);
  const tracing = startTracing(config.tracing);
  const traceStatement = statementSpans(def.name);
  const store = await openStore<C>({
    domain: def.name,
    config: config.store,
    PrismaClient: def.PrismaClient as never,
    migrationsDir: migrationsDirFor(def.name),
    onQuery: (sql, durationMs, error) => {
      metrics.countStatement(sql, durationMs);
      traceStatement(sql, durationMs, error);
    },
  });
  if (config.migrate) {
    const { applied } = await store.migrate();
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  // Before the seed and every reader: the PII columns the classification names are encrypted from the first write.
  const classification = classifyDocument(def.typeDefs);
  const encryption = config.masterKeys
    ? await enableEncryption(store, classification, config.masterKeys, {
        cacheSize: config.encryptionCache,
        tenants: config.seedDemo ? DEMO_TENANTS.map((tenant) => tenant.id) : [],
      })
    : undefined;
  if (config.seedDemo && def.seedDemo) {
    const started = Date.now();
    // Without master keys nothing is encrypted, but the PII models are refused all the same: the
    // seed writes them one way whatever the configuration.
    const plan = encryption?.plan ?? encryptionPlan(classification, await storeTables(store.sql));
    await def.seedDemo(store.client, seedContext(plan.keys()));
    log.info({ ms: Date.now() - started }, 'demo data ready');
  }

  const domain = def.name as Domain;
  // What erasing a customer deletes or keeps here, derived once from the customer keys, the
  // declaration and the schema's classification (a retained model the keys do not know throws).
  const erasure = erasurePlan(domain, def.customerKeys, def.erasure, classification);
  // A domain without a declaration still gets a pipeline (it knows no kinds), so ctx.sync is always there.
  const syncDefinition: SyncDefinition = def.sync ?? { domain, kinds: [], models: {} };
  // The consumers this domain runs, as the status and the weekly report name them (their lag is read
  // from the bus, which opens after the runner: bound late).
  const consumerRefs = () => (def.consumers ?? []).map((c) => ({ name: c.name, from: c.from }));
  const eventsRef: {
    current?: {
      wake(): void;
      context: SubgraphEvents;
      replica: { snapshot(): Promise<ReplicaSnapshot>; caughtUp(): Promise<void> } | undefined;
    };
  } = {};
  const anomaliesFound = new Counter({
    name: 'hub_anomalies_total',
    help: 'Anomalies the hourly anomaly-scan found, by series kind (events: a source’s rate; quality)',
    labelNames: ['domain', 'series'] as const,
    registers: [metrics.registry],
  });
  const jobs = createJobRunner({
    domain,
    sql: store.backgroundSql,
    jobSql: store.sql,
    jobs: [
      ...(def.jobs ?? []),
      integrationHealthJob(domain, { consumers: consumerRefs, bus: () => eventsRef.current?.context.bus }),
      retentionJob(domain, { archiveDir: config.archiveDir }),
      ...(encryption ? [rotateKeysJob(domain, encryption)] : []),
      anomalyJob(domain, { found: (series) => anomaliesFound.inc({ domain, series: series.split(':')[0] ?? series }) }),
      // Bound late: the replica's snapshot reader and lag exist once the events machinery is open.
      reconcileJob(domain, {
        checks: () => {
          const replica = eventsRef.current?.replica;
          return [
            ...(replica ? [replicaCheck(replica)] : []),
            logCheck({
              domain,
              definition: syncDefinition,
              customerKeys: def.customerKeys,
              onCommitted: () => eventsRef.current?.wake(),
            }),
            ...(def.reconcile ?? []),
          ];
        },
      }),
    ],
    // A job derives its rows from the store's own: tenant-wide, customers not asked again, and its
    // source (`job:<name>`) is no field's system of record.
    sync: (tenantId, source, actor) =>
      createSyncPipeline({
        definition: syncDefinition,
        client: store.client,
        scope: { tenantId, customerIds: null },
        customerKeys: def.customerKeys,
        defaultSource: source,
        claimableSources: new Set(),
        actor,
        log,
        // The relay publishes a job's outbox rows as soon as each chunk commits.
        onCommitted: () => eventsRef.current?.wake(),
      }),
    log,
    work: config.jobs,
    ...config.jobTuning,
  });
  await jobs.start();
  // What the alerting rules watch beyond the event series (ops/prometheus/hub-alerts.yml).
  createSyncHealthMetrics(metrics.registry, domain, store.backgroundSql, jobs.jobs);
  if (hasSyncInput(def) !== (def.sync !== undefined))
    throw new Error(
      `subgraph ${def.name}: a ${def.name}SyncEventInput in schema.graphql and SubgraphDefinition.sync go together`,
    );
  // The local log serves `_events` (this store's stream) whichever bus carries events between processes.
  // Opened below, once this subgraph's signer exists; `_events` cannot run before the server listens.
  const logRef: { current?: EmbeddedBus } = {};
  const readLog = () => {
    if (!logRef.current) throw new Error('the event log is not open yet');
    return logRef.current;
  };
  const resolvers = mergeResolvers(
    scalarResolvers,
    def.resolvers,
    def.sync ? syncResolvers(def.sync) : {},
    eventsResolvers(readLog),
    def.sync ? eventAdminResolvers(domain) : {},
  );
  const schema = applyAuthorization(
    domain,
    buildSubgraphSchema([{ typeDefs: def.typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]),
    def.permissions,
  );
  const app = express();
  const httpServer: Server = createServer(app);
  const server = new ApolloServer<SubgraphContext<C, L>>({
    schema,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: config.exposeErrors,
    formatError: createErrorFormatter({ expose: config.exposeErrors }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      metricsPlugin(metrics),
      tracingPlugin<SubgraphContext<C, L>>(),
      useInputChecks(),
      useErrorLogging<SubgraphContext<C, L>>({ log }),
      piiReadAudit<C, L>(store.sql, domain, log),
    ],
  });
  await server.start();
  const verifyViewer = createViewerVerifier({
    audience: def.name,
    gatewayKey: config.gatewayPublicKey,
    serviceKeys: config.trustedServices,
  });
  // Every domain but customers keeps a replica of the customers store's customers and grants.
  const checksCustomers = def.name !== 'customers';
  const signer = config.servicePrivateKey
    ? createViewerSigner({ issuer: serviceIssuer(def.name), privateKey: config.servicePrivateKey })
    : undefined;
  if (checksCustomers && !signer) throw new Error(`subgraph ${def.name} needs HUB_SERVICE_PRIVATE_KEY`);

  // Change events: the relay moves this store's outbox to the bus; the consumers apply other streams.
  const events = await openEvents({ def, config, store, signer, metrics, log, syncDefinition, domain, erasure });
  eventsRef.current = events;
  logRef.current = events.localLog;
  // The customers store checks its own ids with foreign keys; every other, against its replica.
  const scopedClients = viewerClients(
    store.client,
    def.customerKeys,
    checksCustomers ? (tenantId) => events.directory.verifier(tenantId) : undefined,
  );
  const grantsServices = Object.values(def.permissions ?? {}).some((roles) => roles.includes('service'));
  if (grantsServices && Object.keys(config.trustedServices).length === 0)
    log.warn('no HUB_SERVICE_<DOMAIN>_PUBLIC_KEY is set: every other subgraph’s own call will be refused');

  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer({ route: routeLabel(req.path, SUBGRAPH_ROUTES) });
    res.on('finish', () => end({ status: String(res.statusCode) }));
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    try {
      await (store.client as unknown as { $queryRaw(q: TemplateStringsArray): Promise<unknown> }).$queryRaw`SELECT 1`;
      res.json({ status: 'ready' });
    } catch (error) {
      log.warn({ err: error }, 'store not ready');
      res.status(503).json({ status: 'unavailable', reason: 'store' });
    }
  });
  // Development keeps /metrics on the main port unless METRICS_PORT is set; production never does.
  if (config.metrics.port === undefined) {
    app.get('/metrics', (req, res) => serveMetrics(req, res, metrics.registry, config.metrics.token));
  }
  app.use(
    '/graphql',
    express.json({ limit: '5mb' }),
    // The gateway's trace goes on here. A caller without a viewer header is refused below anyway; its
    // traceparent does not get to join a trace.
    serverSpans({
      trustParent: (req) => req.header(VIEWER_HEADER) !== undefined,
      requestId: (req) => req.header(REQUEST_ID_HEADER),
    }),
    expressMiddleware(server, {
      context: async ({ req }) => {
        const requestId = req.header(REQUEST_ID_HEADER) ?? randomUUID();
        let viewer: Viewer;
        try {
          // Bound to the body as received: express.json parsed it; anything else (GET, batch) fails.
          viewer = verifyViewer(req.header(VIEWER_HEADER), req.body);
        } catch (error) {
          const reason = error instanceof ViewerVerificationError ? error.message : 'invalid viewer';
          log.warn({ requestId, reason }, 'refused unsigned request');
          // The reason stays in the log: a prober learns nothing about which check failed.
          throw unauthenticated('This subgraph only answers requests signed by the gateway');
        }
        // The viewer's rows, from this store (once per request); the header says only who it is.
        const scoped = await events.directory.scope(viewer);
        // The client of the request's scopes, built once per distinct scope (@hub/store tenant.ts).
        const db = scopedClients.forScopes(requestScopes(scoped, domain, isMutationRequest(req.body)));
        const requestLog = log.child({ requestId });
        const piiReads = new PiiReadLog();
        const sync = requestSync({
          definition: syncDefinition,
          client: store.client,
          viewer: scoped,
          // Raw SQL bypasses scopeToViewer: the engine applies the write scope itself.
          scope: requestScopes(scoped, domain, true).write,
          customerKeys: def.customerKeys,
          // Once per batch: the local replica (customers: its own table).
          verifyCustomers: () => events.directory.verifier(scoped.tenantId),
          log: requestLog,
          store: store as Store<unknown>,
          runner: jobs,
          consumers: consumerRefs,
          bus: () => events.context.bus,
          onCommitted: events.wake,
          erasure,
          piiReads,
        });
        return {
          viewer: scoped,
          db,
          loaders: def.createLoaders(db, scoped),
          requestId,
          log: requestLog,
          sync,
          events: events.context,
          piiReads,
        };
      },
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host}:${port}/graphql`;
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port !== undefined) {
    metricsServer = await startMetricsServer(metrics.registry, { ...config.metrics, port: config.metrics.port });
  }
  const metricsUrl = metricsServer?.url ?? `http://${config.host}:${port}/metrics`;

  // After listening: the consumers of other processes may already ask for this stream. Ready once
  // the customer replica reached the customers stream's head, so a fresh store is right when it serves.
  await events.start();
  log.info({ url, port, metricsUrl, store: config.store.kind, jobs: config.jobs }, 'subgraph ready');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await events.stop();
      await metricsServer?.stop();
      await server.stop();
      // Before the store closes: a running job stops after its current chunk (its checkpoint holds).
      await jobs.stop();
      await store.close();
      await tracing.shutdown();
    })());
  return { url, port, metricsUrl, store, metrics, jobs, events: events.context, relay: events.relay(), stop };
}

/**
 * The process's change-event machinery: the bus (embedded over the outbox, or NATS JetStream when
 * NATS_URL is set), the store's relay (HUB_RELAY) and the domain's consumers (HUB_CONSUMERS).
 * Started after the server listens; stopped before the store closes (consumers first, so their
 * in-flight transactions finish, then the relay).
 */
async function openEvents<C, L>(options: {
  def: SubgraphDefinition<C, L>;
  config: SubgraphConfig;
  store: Store<C>;
  signer: ReturnType<typeof createViewerSigner> | undefined;
  metrics: ProcessMetrics;
  log: Logger;
  syncDefinition: SyncDefinition;
  domain: Domain;
  erasure: ErasurePlan;
}) {
  const { def, config, store, signer, metrics, log, domain } = options;
  // The customer replica's consumer runs in every domain but customers (replicaFeed.ts).
  const replicated = domain !== 'customers';
  const consumers = [...(replicated ? [replicaConsumer(domain, options.erasure)] : []), ...(def.consumers ?? [])];
  // The relay, the log's readers, the consumers' bookkeeping and the backlog gauge are background
  // work: they use the store's uninstrumented driver, so per-request statement metrics count requests.
  const eventMetrics = createEventMetrics(metrics.registry, domain, store.backgroundSql);
  // HUB_CUSTOMERS_URL (the snapshot's address) is the customers stream's address too.
  const urls = { ...config.subgraphUrls, customers: config.customersUrl };
  const remote = signer ? createRemoteStreamReader({ self: domain, urls, signer }) : undefined;
  const localLog = createEmbeddedBus({ domain, store: store.backgroundSql, remote, log });
  if (!config.natsUrl && consumers.length > 0 && config.consumers && !remote)
    throw new Error(`subgraph ${def.name} has consumers: it needs HUB_SERVICE_PRIVATE_KEY to read other streams`);
  const bus: EventBus = config.natsUrl
    ? await createNatsBus({
        servers: config.natsUrl,
        prefix: config.natsPrefix,
        name: `subgraph-${domain}`,
        log: log.child({ component: 'nats' }),
      })
    : localLog;
  let relay: Relay | undefined;
  // A commit of this store: the relay publishes, and local readers of the log (`_events` long
  // polls, in-process subscribers) read at once, whether or not this process runs the relay.
  const wake = () => {
    relay?.wake();
    if (bus !== localLog || !relay) void localLog.publish(domain, []);
  };
  const behind = replicaBehind(bus, domain);
  // Request work (a viewer's rows, a write's customers): on the instrumented driver, so it is counted.
  const directory: CustomerDirectory = replicated
    ? replicaDirectory({ sql: store.sql, behind })
    : ownTablesDirectory(store.sql);
  const runtime =
    config.consumers && consumers.length > 0
      ? createConsumerRuntime(
          {
            domain,
            client: store.client,
            store: store.backgroundSql,
            bus,
            sync: options.syncDefinition,
            customerKeys: def.customerKeys,
            // Once per event transaction, in this store (no HTTP).
            verifyCustomers: (tenantId) => directory.verifier(tenantId),
            onCommitted: () => wake(),
            batch: config.consumerBatch,
            log: log.child({ component: 'consumers' }),
            metrics: eventMetrics.consumer,
          },
          consumers,
        )
      : undefined;
  // What the `reconcile` job's replica check compares: the customers domain's snapshot, once caught up.
  const replica =
    replicated && signer
      ? {
          snapshot: createSnapshotReader({ self: domain, customersUrl: config.customersUrl, signer }),
          caughtUp: () => waitCaughtUp(behind, log, 10_000),
        }
      : undefined;
  return {
    localLog,
    context: { bus, consumers: runtime, wake } satisfies SubgraphEvents,
    replica,
    directory,
    wake,
    relay: () => relay,
    async start() {
      if (config.relay) {
        relay = await startRelay({
          domain,
          store: store.backgroundSql,
          storeConfig: config.store,
          bus,
          log: log.child({ component: 'relay' }),
          metrics: eventMetrics.relay,
        });
      }
      if (replicated && runtime && signer) {
        await bootstrapReplica({
          sql: store.backgroundSql,
          read: createSnapshotReader({ self: domain, customersUrl: config.customersUrl, signer }),
          log,
        });
      }
      await runtime?.start();
      if (replicated && runtime) await waitCaughtUp(behind, log);
    },
    async stop() {
      await runtime?.stop();
      await relay?.stop();
      await bus.close();
      if (localLog !== bus) await localLog.close();
    },
  };
}

/** Entry point of a subgraph process: start, and stop cleanly on SIGINT/SIGTERM. */
export async function runSubgraph<C, L>(def: SubgraphDefinition<C, L>): Promise<void> {
  try {
    const running = await startSubgraph(def);
    const shutdown = () => void running.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  } catch (error) {
    console.error(`subgraph ${def.name} failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
