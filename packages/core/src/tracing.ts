/**
 * OpenTelemetry traces of the hub, one home for the gateway and every subgraph: the SDK setup from
 * the standard `OTEL_*` variables, the server span of an HTTP request, client spans, and the
 * statement spans of a store.
 *
 * Off unless an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`). Off, no SDK is registered at all: the
 * `@opentelemetry/api` calls (ours and `@apollo/gateway`'s own) hit the API's no-op tracer, and
 * every helper here returns at its first line on one boolean, so tracing costs nothing measurable
 * (`npm run bench:otel`).
 *
 * No automatic instrumentation (require/import hooks): with ESM under tsx it needs a loader hook
 * per process, patches every `http` and `pg` call, and would add spans we do not want (resolvers,
 * express middlewares). The few places that matter are wrapped by hand instead.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ApolloServerPlugin } from '@apollo/server';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { EnvReader } from './config.js';
import { statementTable } from './metrics.js';

export interface TracingConfig {
  /** Where spans are sent (OTLP/HTTP, JSON); undefined: tracing is off. */
  readonly endpoint: string | undefined;
  /** `service.name` of this process (`OTEL_SERVICE_NAME`, default per process: `gateway`, `subgraph-sales`). */
  readonly serviceName: string;
}

/**
 * The process's tracing configuration, from the standard variables. The sampler
 * (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`; default `parentbased_always_on`) and the batch
 * span processor (`OTEL_BSP_*`) are read by the SDK itself.
 */
export function readTracingConfig(read: EnvReader, defaultServiceName: string): TracingConfig {
  const traces = read.optional('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = read.optional('OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoint = traces ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  if (endpoint !== undefined) {
    try {
      const url = new URL(endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      read.problems.push(`the OTLP traces endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
    }
  }
  const disabled = read.bool('OTEL_SDK_DISABLED', false);
  return {
    endpoint: disabled ? undefined : endpoint,
    serviceName: read.string('OTEL_SERVICE_NAME', defaultServiceName),
  };
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered, then stops the SDK (the last user in the process stops it). */
  shutdown(): Promise<void>;
}

/** One SDK per process; several subgraphs started in one test process share it. */
let provider: NodeTracerProvider | undefined;
let users = 0;
let active = false;

/** Looked up per use (only when on): a tracer kept from an earlier SDK would still point at it after a restart. */
const tracer = () => trace.getTracer('@hub/core');

/** Whether this process registered an SDK (an endpoint is configured). */
export function tracingEnabled(): boolean {
  return active;
}

/**
 * Registers the SDK when `config.endpoint` is set: spans batched to OTLP/HTTP, W3C trace context
 * (only `traceparent`/`tracestate`: a client's baggage is not carried into the hub). Without an
 * endpoint it registers nothing.
 */
export function startTracing(config: TracingConfig): Tracing {
  if (config.endpoint === undefined) return { enabled: false, shutdown: async () => undefined };
  if (!provider) {
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint }))],
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
    active = true;
  }
  users++;
  let stopped = false;
  return {
    enabled: true,
    async shutdown() {
      if (stopped || !provider) return;
      stopped = true;
      users--;
      if (users > 0) return void (await provider.forceFlush());
      const last = provider;
      provider = undefined;
      active = false;
      await last.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * Marks `span` failed. The exception event carries the error's class or GraphQL code and, for
 * errors of our own machinery, its message, never a stack or the values of a request: spans go to
 * a collector outside the hub's access rules, and a coercion error's message may quote an input.
 */
export function recordError(span: Span, error: unknown, options: { withMessage?: boolean } = {}): void {
  const type = error instanceof Error ? ((error as { code?: unknown }).code?.toString() ?? error.name) : typeof error;
  const message = options.withMessage !== false && error instanceof Error ? error.message : undefined;
  span.addEvent('exception', {
    'exception.type': type,
    ...(message !== undefined ? { 'exception.message': message } : {}),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined ? { message } : { message: type }) });
}

/** The recording span of the current async context, if tracing is on and this request is sampled. */
export function activeSpan(): Span | undefined {
  if (!active) return undefined;
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/**
 * Runs `fn` inside a new span (a child of the current one) and ends it when `fn` settles; a throw
 * is recorded (recordError) and rethrown. Off, `fn` runs as it is.
 */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!active) return fn(undefined);
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds the current trace context (`traceparent`) to an outgoing request's headers. */
export function injectTraceContext(headers: { set(name: string, value: string): void }): void {
  if (!active) return;
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

export interface ServerSpanOptions {
  /** Whether the request's `traceparent` may parent this span (else the span starts a new trace). */
  trustParent(req: Request): boolean;
  /** The request id the logs carry (`hub.request_id`), known when this middleware runs. */
  requestId(req: Request, res: Response): string | undefined;
}

/**
 * The server span of an HTTP request, active for every middleware and resolver after it. Mounted
 * after the body parser: body-parser resumes from the socket's events, which would lose the
 * context had the span been entered before it. The GraphQL plugin below names it after the
 * operation.
 */
export function serverSpans(options: ServerSpanOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!active) return next();
    const parent = options.trustParent(req) ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    const requestId = options.requestId(req, res);
    // The mount point and the path below it (`/sync` + `/product`), without the query string.
    const urlPath = req.baseUrl + (req.path === '/' ? '' : req.path) || '/';
    const span = tracer().startSpan(
      `${req.method} ${urlPath}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': urlPath,
          ...(requestId !== undefined ? { 'hub.request_id': requestId } : {}),
        },
      },
      parent,
    );
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('hub.aborted', true);
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/** GraphQL codes of the caller's own mistakes: the span records them, but they are not failures of the hub. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'OPERATION_TOO_COMPLEX',
  'RATE_LIMITED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
]);

function codeOf(error: { extensions?: Record<string, unknown> }): string {
  const code = error.extensions?.['code'];
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

/**
 * Names the request's server span after the GraphQL operation (`query CustomerOverview`, with
 * `graphql.operation.name` and `.type`) and records its errors: one exception event per error with
 * its code and path (messages stay in the logs, found by `hub.request_id`: they may quote inputs);
 * status ERROR when any error is the hub's, not the caller's.
 */
export function tracingPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const span = activeSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          if (!operation) return;
          span.updateName(`${operation.operation}${operationName ? ` ${operationName}` : ''}`);
          span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async didEncounterErrors({ errors }) {
          const codes = errors.map(codeOf);
          errors.forEach((error, i) =>
            span.addEvent('exception', {
              'exception.type': codes[i] ?? 'INTERNAL_SERVER_ERROR',
              ...(error.path ? { 'graphql.error.path': error.path.join('.') } : {}),
            }),
          );
          const failure = codes.find((code) => !CLIENT_CODES.has(code));
          span.setAttribute('graphql.error.codes', [...new Set(codes)]);
          if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
        },
      };
    },
  };
}

/**
 * A store's statement listener (`openStore({ onQuery })`): one CLIENT span per SQL statement, under
 * the span of the request that ran it. Built from the listener rather than by wrapping `pg` and
 * PGlite: both drivers, Prisma's adapters and the store's raw SQL already report every statement
 * there, with its text as sent — placeholders (`$1`), never the bound values — and its duration,
 * so the span is recorded when the statement ends, with its start time set back. (Prisma 7's own
 * `@prisma/instrumentation` would add spans per operation, serialisation and compilation besides.)
 * Statements outside a sampled request (the relay, consumers, jobs) make no span of their own.
 */
export function statementSpans(namespace: string): (sql: string, durationMs: number, error?: unknown) => void {
  return (sql, durationMs, error) => {
    if (!active) return;
    const parent = trace.getActiveSpan();
    if (!parent?.isRecording()) return;
    const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
    const table = statementTable(sql);
    const span = tracer().startSpan(`${operation} ${table}`, {
      kind: SpanKind.CLIENT,
      startTime: performance.timeOrigin + performance.now() - durationMs,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': namespace,
        'db.operation.name': operation,
        'db.collection.name': table,
        'db.query.text': sql,
      },
    });
    if (error !== undefined) recordError(span, error);
    span.end();
  };
}
