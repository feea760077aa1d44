/**
 * What the console asks the graph: nothing but the public schema (`sync { <domain> { … } }`, the
 * per-domain mutations and the `syncStatus` subscription), with the person's own credential. The
 * gateway's rules decide what comes back; the console has no endpoint of its own.
 */
import { request, type GraphQLResult } from '../shared/graphql.js';
import type { Credential } from '../shared/credentials.js';

// The domains are declared once, in the core package (a module without Node dependencies).
import { DOMAINS, type Domain } from '@hub/core/domains';

export { DOMAINS, type Domain };

/** `product` -> `Product`, as the graph names per-domain mutations and inputs (sync/sdl.ts). */
export const pascal = (domain: string) => domain.charAt(0).toUpperCase() + domain.slice(1);

/** `usage_analytics_sync` -> `usageAnalyticsSync`: the event input's field of a kind. */
export const kindField = (kind: string) => kind.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export interface JobRun {
  id: string;
  job: string;
  domain: string;
  tenantId: string | null;
  status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  trigger: string;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  processed: number;
  failed: number;
  total: number | null;
  attempts: number;
  error: string | null;
}

export interface SyncStatus {
  domain: string;
  tenantId: string;
  at: string;
  eventsPerSecond: number;
  outboxBacklog: number;
  consumers: { name: string; from: string; lag: number; oldestPendingAt: string | null }[];
  deadLetters: { sync: number; consumer: number };
  lastError: { at: string; source: string; message: string } | null;
  jobRuns: JobRun[];
}

const JOB_RUN_FIELDS = `id job domain tenantId status trigger queuedAt startedAt endedAt processed failed total attempts error`;

const STATUS_FIELDS = `domain tenantId at eventsPerSecond outboxBacklog
  consumers { name from lag oldestPendingAt }
  deadLetters { sync consumer }
  lastError { at source message }
  jobRuns { ${JOB_RUN_FIELDS} }`;

/** The live subscription: the status of each of `shown` (default every domain), pushed every `intervalMs`. */
export function syncStatusSubscription(intervalMs: number, shown: readonly Domain[] = DOMAINS): string {
  const domains = shown.map((d) => `${d} { status { ${STATUS_FIELDS} } }`).join('\n    ');
  return `subscription ConsoleSyncStatus {\n  syncStatus(intervalMs: ${intervalMs}) {\n    ${domains}\n  }\n}`;
}

export type SyncStatusPayload = Partial<Record<Domain, { status: SyncStatus } | null>>;

export interface QualityDimension {
  value: number | null;
  target: number | null;
  meetsTarget: boolean | null;
}

export interface DataQualityReport {
  domain: string;
  since: string;
  until: string;
  records: number;
  rejected: number;
  accuracy: QualityDimension;
  completeness: QualityDimension;
  consistency: QualityDimension;
  timeliness: QualityDimension;
  score: number | null;
}

export interface HealthReport {
  periodStart: string;
  periodEnd: string;
  accuracy: number | null;
  completeness: number | null;
  consistency: number | null;
  qualityScore: number | null;
  records: number;
}

const DIMENSION = `value target meetsTarget`;

export async function dataQuality(
  credential: Credential | undefined,
  windowHours: number,
  shown: readonly Domain[] = DOMAINS,
) {
  const domains = shown.map(
    (d) => `${d} {
      dataQuality(windowHours: ${windowHours}) { domain since until records rejected score
        accuracy { ${DIMENSION} } completeness { ${DIMENSION} } consistency { ${DIMENSION} } timeliness { ${DIMENSION} } }
      integrationHealth(first: 12) { edges { node { periodStart periodEnd accuracy completeness consistency qualityScore records } } }
    }`,
  );
  return request<{
    sync: Record<
      Domain,
      { dataQuality: DataQualityReport; integrationHealth: { edges: { node: HealthReport }[] } } | null
    >;
  }>(credential, `query ConsoleQuality { sync { ${domains.join('\n')} } }`);
}

export interface DeadLetter {
  id: string;
  kind: string;
  idempotencyKey: string;
  source: string;
  payload: string;
  code: string;
  reason: string;
  field: string | null;
  receivedAt: string;
  replayedAt: string | null;
  replayOutcome: string | null;
}

export interface EventDeadLetter {
  id: string;
  consumer: string;
  stream: string;
  type: string;
  reason: string;
  attempts: number;
  lastFailedAt: string;
  replayedAt: string | null;
  replayOutcome: string | null;
}

/** The domain's sync dead letters and, with `withEvents` (admins: other domains' events), its consumers'. */
export function deadLetters(credential: Credential | undefined, domain: Domain, withEvents = true) {
  return request<{
    sync: Record<
      string,
      {
        deadLetters: { totalCount: number; edges: { node: DeadLetter }[] };
        eventDeadLetters?: { totalCount: number; edges: { node: EventDeadLetter }[] };
      }
    >;
  }>(
    credential,
    `query ConsoleDeadLetters {
      sync { ${domain} {
        deadLetters(first: 50, filter: { replayed: false }) { totalCount edges { node {
          id kind idempotencyKey source payload code reason field receivedAt replayedAt replayOutcome } } }
        ${
          withEvents
            ? `eventDeadLetters(first: 50) { totalCount edges { node {
          id consumer stream type reason attempts lastFailedAt replayedAt replayOutcome } } }`
            : ''
        }
      } }
    }`,
  );
}

export interface EventResult {
  outcome: string;
  code: string | null;
  reason: string | null;
  field: string | null;
}

const RESULT_FIELDS = 'outcome code reason field';

/** Replays a sync dead letter as stored (`payload` undefined) or with a corrected payload. */
export function replayDeadLetter(
  credential: Credential | undefined,
  domain: Domain,
  letter: DeadLetter,
  payload?: unknown,
): Promise<GraphQLResult<Record<string, EventResult>>> {
  const D = pascal(domain);
  const event =
    payload === undefined
      ? undefined
      : {
          idempotencyKey: `${letter.idempotencyKey}:fixed:${Date.now()}`,
          source: letter.source,
          [kindField(letter.kind)]: payload,
        };
  return request(
    credential,
    `mutation ConsoleReplay($id: ID!, $event: ${D}SyncEventInput) { result: replay${D}DeadLetter(id: $id, event: $event) { ${RESULT_FIELDS} } }`,
    { id: letter.id, event: event ?? null },
  );
}

export function replayEventDeadLetter(credential: Credential | undefined, domain: Domain, id: string) {
  const D = pascal(domain);
  return request<{ result: { id: string; outcome: string; reason: string | null } }>(
    credential,
    `mutation ConsoleReplayEvent($id: ID!) { result: replay${D}EventDeadLetter(id: $id) { id outcome reason } }`,
    { id },
  );
}

export interface Conflict {
  id: string;
  model: string;
  rowKey: string;
  customerId: string | null;
  field: string;
  storedValue: string | null;
  storedSource: string | null;
  storedAt: string | null;
  incomingValue: string | null;
  incomingSource: string;
  incomingAt: string;
  rule: string;
  winner: 'STORED' | 'INCOMING';
  decidedAt: string;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

export function conflicts(credential: Credential | undefined, domain: Domain) {
  return request<{ sync: Record<string, { syncConflicts: { totalCount: number; edges: { node: Conflict }[] } }> }>(
    credential,
    `query ConsoleConflicts {
      sync { ${domain} { syncConflicts(first: 50, filter: { resolved: false }) { totalCount edges { node {
        id model rowKey customerId field storedValue storedSource storedAt incomingValue incomingSource incomingAt
        rule winner decidedAt resolvedBy resolvedAt } } } } }
    }`,
  );
}

export function resolveConflict(
  credential: Credential | undefined,
  domain: Domain,
  id: string,
  pick: 'STORED' | 'INCOMING',
) {
  const D = pascal(domain);
  return request<{ result: EventResult }>(
    credential,
    `mutation ConsoleResolve($id: ID!, $pick: ConflictPick!) { result: resolve${D}Conflict(id: $id, pick: $pick) { ${RESULT_FIELDS} } }`,
    { id, pick },
  );
}

export function jobRuns(credential: Credential | undefined, domain: Domain) {
  return request<{
    sync: Record<
      string,
      {
        jobs: { name: string; schedule: string | null; description: string }[];
        jobRuns: { totalCount: number; edges: { node: JobRun }[] };
      }
    >;
  }>(
    credential,
    `query ConsoleJobs { sync { ${domain} {
      jobs { name schedule description }
      jobRuns(first: 20) { totalCount edges { node { ${JOB_RUN_FIELDS} } } }
    } } }`,
  );
}

export function runJob(credential: Credential | undefined, domain: Domain, job: string) {
  const D = pascal(domain);
  return request<{ result: JobRun }>(
    credential,
    `mutation ConsoleRunJob($job: String!) { result: run${D}Job(job: $job) { ${JOB_RUN_FIELDS} } }`,
    { job },
  );
}

export interface AuditEntry {
  id: string;
  domain: string;
  position: string;
  at: string;
  action: 'CREATE' | 'UPDATE' | 'DELETE' | 'ERASE' | 'PII_READ';
  actorType: string;
  actorId: string;
  actorRole: string | null;
  source: string | null;
  idempotencyKey: string | null;
  operation: string | null;
  model: string | null;
  rowId: string | null;
  rowKey: string | null;
  changes: string;
}

export interface AuditPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: AuditEntry }[];
}

/** A customer, optionally within [from, to] (ISO times). */
export interface AuditLookup {
  customerId: string;
  from: string | null;
  to: string | null;
}

const AUDIT_FIELDS = `id domain position at action actorType actorId actorRole source idempotencyKey operation model rowId rowKey changes`;

/**
 * One page of the customer's trail, newest first, in each of `pages`' domains — one query selecting
 * several domains' `auditTrail`, each after its own cursor (null: from the newest entry).
 */
export function auditTrail(
  credential: Credential | undefined,
  lookup: AuditLookup,
  pages: Partial<Record<Domain, string | null>>,
  first: number,
) {
  const domains = DOMAINS.filter((d) => d in pages);
  const cursors = domains.map((d) => `$after_${d}: String`).join(', ');
  const selections = domains.map(
    (
      d,
    ) => `${d} { auditTrail(customerId: $id, from: $from, to: $to, first: $first, after: $after_${d}, newestFirst: true) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${AUDIT_FIELDS} } } } }`,
  );
  const variables: Record<string, unknown> = { id: lookup.customerId, from: lookup.from, to: lookup.to, first };
  for (const d of domains) variables[`after_${d}`] = pages[d] ?? null;
  return request<{ sync: Partial<Record<Domain, { auditTrail: AuditPage } | null>> }>(
    credential,
    `query ConsoleAuditTrail($id: ID!, $from: DateTime, $to: DateTime, $first: Int!, ${cursors}) {
      sync { ${selections.join('\n')} }
    }`,
    variables,
  );
}
