import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Table a SQL statement touches first, from Prisma's fully qualified identifiers. */
export function statementTable(sql: string): string {
  const match = /(?:FROM|INTO|UPDATE)\s+(?:"[^"]+"\.)?"([^"]+)"/i.exec(sql);
  if (match?.[1]) return match[1];
  return /^\s*(BEGIN|COMMIT|ROLLBACK)/i.test(sql) || sql.includes('COMMIT') ? 'transaction' : 'other';
}

/**
 * The `route` label of an HTTP series: the route template when the path is one of `routes`, else
 * `other`. Labelling by raw path let any caller mint a series per URL (3,000 random paths grew a
 * subgraph's /metrics from 18 KB to 12 MB); this keeps the label set bounded by the route table.
 */
export function routeLabel(path: string, routes: readonly string[]): string {
  return routes.includes(path) ? path : 'other';
}

export interface ProcessMetrics {
  registry: Registry;
  httpDuration: Histogram<'route' | 'status'>;
  graphqlErrors: Counter<'code'>;
  sqlStatements: Counter<'table'>;
  sqlDuration: Histogram<'table'>;
  countStatement(sql: string, durationMs: number): void;
}

/** Prometheus metrics of one process (`/metrics`). */
export function createMetrics(service: string): ProcessMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const graphqlErrors = new Counter({
    name: 'hub_graphql_errors_total',
    help: 'GraphQL errors returned, by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const sqlStatements = new Counter({
    name: 'hub_sql_statements_total',
    help: 'SQL statements issued to the domain store, by table',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const sqlDuration = new Histogram({
    name: 'hub_sql_statement_duration_seconds',
    help: 'SQL statement latency, by table',
    labelNames: ['table'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    httpDuration,
    graphqlErrors,
    sqlStatements,
    sqlDuration,
    countStatement(sql, durationMs) {
      const table = statementTable(sql);
      sqlStatements.inc({ table });
      sqlDuration.observe({ table }, durationMs / 1000);
    },
  };
}

/** Reads `hub_sql_statements_total` per table out of a `/metrics` text exposition. */
export function parseStatementCounts(metricsText: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    const match = /^hub_sql_statements_total\{([^}]*)\}\s+([0-9.e+]+)/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const table = /table="([^"]*)"/.exec(match[1])?.[1];
    if (table) counts.set(table, Number(match[2]));
  }
  return counts;
}

/** Per-table difference `after - before`, only tables that changed. */
export function diffCounts(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [table, value] of after) {
    const delta = value - (before.get(table) ?? 0);
    if (delta > 0) diff[table] = delta;
  }
  return diff;
}
