/**
 * `POST /sync/<domain>`: bulk import of NDJSON brief payloads (docs/design/sync-pipeline.md §8).
 *
 * - Identity and the request budget are the GraphQL route's own middlewares (`identifyRequests`,
 *   `rateLimits.requests`), mounted in front of this handler; each further batch of the request
 *   draws one more request from the same budget, and waits for the window when it is spent (the
 *   sender is slowed down by back-pressure; nothing it sent is dropped).
 * - The body is read line by line (lines.ts) while batches execute: one batch is in flight while
 *   the next one fills, and no further byte is read until the in-flight one is answered, so memory
 *   is bounded by two batches whatever the body's size.
 * - Each line is checked on its own against the domain's `<D>SyncEventInput` (events.ts); valid ones
 *   go in batches of up to `batchSize` to `sync<D>` through `ApolloServer.executeOperation` with the
 *   request's viewer: the same plugins, query planner, signed subgraph fetches, resilience policy and
 *   subgraph row rules as a GraphQL request, without a second HTTP hop or a re-authentication.
 * - The answer is NDJSON, one line per input line in input order, written as each batch completes,
 *   then `{"summary": {...}}`. Headers are sent with the first answered batch, so a request the
 *   domain refuses as a whole (FORBIDDEN, UNAUTHENTICATED) still gets its HTTP status; a batch that
 *   fails as a whole later (a subgraph down) ends the answer with a summary carrying the error and the
 *   first line not answered, from which a client resumes.
 */
import type { ApolloServer } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { ErrorCode, hubError } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';
import type { GatewayContext } from '../context.js';
import { requestIdOf } from '../http.js';
import { identityOf } from '../identify.js';
import { limitsFor, rateLimitKey, type LimitsConfig } from '../limits.js';
import type { Logger } from '../logger.js';
import { isSafelisted } from '../plugins/usePersistedOperations.js';
import type { RateLimiter } from '../rateLimiter.js';
import { parseLine, syncApiOf, type ParsedLine, type SyncApi } from './events.js';
import { DEFAULT_MAX_LINE_BYTES, NDJSON, splitLines, type RawLine } from './lines.js';

export const SYNC_PATH = '/sync';

export interface SyncRouteOptions {
  readonly apollo: ApolloServer<GatewayContext>;
  /** The loaded supergraph's API schema; undefined until it is loaded. */
  readonly schema: () => GraphQLSchema | undefined;
  readonly logger: Logger;
  readonly limiter: RateLimiter;
  readonly limits: LimitsConfig;
  /** Events per `sync<D>` call. @default 1000 */
  readonly batchSize?: number;
  /** A partial batch is sent once its first line waited this long (a slow sender still sees answers). @default 200 */
  readonly lingerMs?: number;
  /** @default 1 MiB */
  readonly maxLineBytes?: number;
  /** A batch is sent before its lines pass this size (the subgraphs' body limit is 5 MB). @default 4 MiB */
  readonly maxBatchBytes?: number;
}

type Outcome = 'APPLIED' | 'MERGED' | 'STALE' | 'DUPLICATE' | 'REJECTED';

interface EngineResult {
  readonly index: number;
  readonly idempotencyKey: string;
  readonly outcome: Outcome;
  readonly firstOutcome: Outcome | null;
  readonly code: string | null;
  readonly reason: string | null;
  readonly field: string | null;
  readonly deadLetterId: string | null;
}

/** The status a whole-batch error ends a not yet started answer with. */
const STATUS_OF_CODE: Record<string, number> = {
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.BadUserInput]: 400,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.OperationTooComplex]: 400,
  [ErrorCode.DownstreamServiceError]: 502,
};

/** A refused request stops being read; what the sender still sends is discarded, then the socket closed. */
const DISCARD_MS = 2000;

function discardBody(req: Request, res: Response): void {
  if (req.readableEnded) return;
  if (!res.headersSent) res.setHeader('connection', 'close');
  req.resume();
  // Closing at once could reset the connection before the client read the answer.
  const timer = setTimeout(() => req.destroy(), DISCARD_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
}

function formatted(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const { http: _http, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
  return { message: error.message, extensions };
}

/** An error answer in the GraphQL route's shape, with the error's HTTP status and headers. */
function sendError(req: Request, res: Response, error: GraphQLError, fallbackStatus = 500): void {
  const http = error.extensions['http'] as { status?: number; headers?: Map<string, string> } | undefined;
  for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
  discardBody(req, res);
  res.status(http?.status ?? fallbackStatus).json({ errors: [formatted(error)] });
}

/** Writes honouring the socket's back-pressure; false once the client is gone. */
function write(res: Response, text: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (res.write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function answerOf(parsed: ParsedLine, result: EngineResult | undefined): Record<string, unknown> {
  if (!parsed.ok || result === undefined) {
    const rejection = parsed.ok ? undefined : parsed;
    return {
      line: parsed.line,
      outcome: 'REJECTED',
      idempotency_key: rejection?.idempotencyKey ?? null,
      code: rejection?.code ?? ErrorCode.InternalServerError,
      reason: rejection?.reason ?? 'no result for this event',
      field: rejection?.field ?? null,
    };
  }
  return {
    line: parsed.line,
    outcome: result.outcome,
    idempotency_key: result.idempotencyKey,
    ...(result.firstOutcome ? { first_outcome: result.firstOutcome } : {}),
    ...(result.outcome === 'REJECTED' ? { code: result.code, reason: result.reason, field: result.field } : {}),
    ...(result.deadLetterId ? { dead_letter_id: result.deadLetterId } : {}),
  };
}

function queryParameter(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

interface ImportRequest {
  readonly req: Request;
  readonly res: Response;
  readonly api: SyncApi;
  readonly viewer: Viewer;
  readonly requestId: string;
  readonly log: Logger;
  readonly source: string | undefined;
  readonly firstLine: number;
}

/** Streams one import: reads, checks, batches, executes and answers (see the top of the file). */
async function runImport(options: SyncRouteOptions, request: ImportRequest): Promise<void> {
  const { req, res, api, viewer, log } = request;
  const batchSize = options.batchSize ?? 1000;
  const lingerMs = options.lingerMs ?? 200;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
  const defaults = { source: request.source, maxLineBytes };
  const context: GatewayContext = { viewer, requestId: request.requestId, log };
  const counts: Record<Lowercase<Outcome>, number> & { lines: number } = {
    applied: 0,
    merged: 0,
    stale: 0,
    duplicate: 0,
    rejected: 0,
    lines: 0,
  };
  let started = false;
  let batchesSent = 0;
  /** `line`: the first line not answered, where a client resumes. */
  let failure: { code: string; message: string; line: number } | undefined;
  let lastAnswered = request.firstLine - 1;
  const startedAt = Date.now();

  const start = () => {
    if (started) return;
    started = true;
    res.status(200).setHeader('content-type', `${NDJSON}; charset=utf-8`);
  };

  /** One request from the viewer's budget per batch after the first (the route's middleware took that one). */
  const takeBudget = async (): Promise<void> => {
    const max = limitsFor(viewer, options.limits).requestsPerWindow;
    for (;;) {
      const consumed = await options.limiter.consume('requestsPerWindow', rateLimitKey(viewer), 1, max);
      if (consumed.ok || res.destroyed) return;
      await sleep(consumed.retryAfterSeconds * 1000);
    }
  };

  /** Executes one batch and writes its answers; false when the import must stop. */
  const execute = async (batch: readonly ParsedLine[]): Promise<boolean> => {
    const events = batch.flatMap((parsed) => (parsed.ok ? [parsed.event] : []));
    let results: readonly EngineResult[] = [];
    if (events.length > 0) {
      if (batchesSent > 0) await takeBudget();
      batchesSent++;
      let error: GraphQLFormattedError | undefined;
      try {
        const response = await options.apollo.executeOperation(
          { query: api.document, variables: { events }, operationName: 'SyncImport' },
          { contextValue: context },
        );
        const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
        const answer = body?.data?.[api.mutation] as { results?: EngineResult[] } | null | undefined;
        if (answer?.results && answer.results.length === events.length) {
          results = answer.results;
        } else {
          error = body?.errors?.[0] ?? {
            message: `${api.mutation} answered ${answer?.results?.length ?? 0} results for ${events.length} events`,
            extensions: { code: ErrorCode.InternalServerError },
          };
        }
      } catch (thrown) {
        log.error({ err: thrown }, 'sync import: batch failed');
        error = { message: 'Internal server error', extensions: { code: ErrorCode.InternalServerError } };
      }
      if (error) {
        const code =
          typeof error.extensions?.['code'] === 'string' ? error.extensions['code'] : 'INTERNAL_SERVER_ERROR';
        const firstLine = batch[0]?.line ?? request.firstLine;
        if (!started) {
          const refusal = hubError(code as ErrorCode, error.message);
          sendError(req, res, refusal, STATUS_OF_CODE[code] ?? 500);
          return false;
        }
        failure = { code, message: error.message, line: firstLine };
        return false;
      }
    }
    start();
    let j = 0;
    let text = '';
    for (const parsed of batch) {
      const answer = answerOf(parsed, parsed.ok ? results[j++] : undefined);
      const outcome = String(answer['outcome']).toLowerCase() as Lowercase<Outcome>;
      counts[outcome]++;
      counts.lines++;
      lastAnswered = parsed.line;
      text += `${JSON.stringify(answer)}\n`;
    }
    // One write per batch: a client records its progress per answered batch.
    return write(res, text);
  };

  const lines = splitLines(req, { maxLineBytes, firstLine: request.firstLine })[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<RawLine>> | undefined;
  let inflight: Promise<boolean> = Promise.resolve(true);
  let batch: ParsedLine[] = [];
  let batchEvents = 0;
  let batchBytes = 0;
  let lineStart = 0;
  let batchSince = 0;
  let go = true;
  const TIMEOUT = Symbol('timeout');

  // At most one batch executes while the next one fills: dispatch waits for the one in flight.
  const dispatch = async () => {
    if (batch.length === 0) return;
    const full = batch;
    batch = [];
    batchEvents = 0;
    batchBytes = 0;
    go = await inflight;
    inflight = go ? execute(full) : Promise.resolve(false);
  };

  try {
    while (go) {
      pending ??= lines.next();
      let next: IteratorResult<RawLine> | typeof TIMEOUT;
      if (batch.length === 0) {
        next = await pending;
      } else {
        let timer: NodeJS.Timeout | undefined;
        const wait = Math.max(0, batchSince + lingerMs - Date.now());
        next = await Promise.race([
          pending,
          new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), wait))),
        ]);
        clearTimeout(timer);
      }
      if (next === TIMEOUT) {
        await dispatch();
        continue;
      }
      pending = undefined;
      if (next.done) break;
      const bytes = next.value.end - lineStart;
      lineStart = next.value.end;
      if (batchBytes + bytes > maxBatchBytes) await dispatch();
      if (batch.length === 0) batchSince = Date.now();
      batchBytes += bytes;
      const parsed = parseLine(api, next.value, defaults);
      batch.push(parsed);
      if (parsed.ok) batchEvents++;
      // Rejected lines wait in the batch for their turn in the answer; they are bounded too.
      if (batchEvents >= batchSize || batch.length >= 4 * batchSize) await dispatch();
    }
    if (go) await dispatch();
  } catch (error) {
    // The body could not be read to its end (the client went away, a broken upload).
    log.info({ err: error instanceof Error ? error.message : String(error) }, 'sync import: request body ended early');
    go = false;
  }
  // A read still pending when the import stopped may fail later (the body is discarded): not an error.
  pending?.catch(() => undefined);
  const completed = (await inflight) && go;
  log.info({ domain: api.domain, ...counts, ms: Date.now() - startedAt, completed }, 'sync import');
  // Gone, or already answered with an error status.
  if (res.destroyed || res.writableEnded) return;
  if (!completed && failure === undefined) {
    failure = { code: ErrorCode.BadRequest, message: 'the request body ended early', line: lastAnswered + 1 };
  }
  // An import that executed nothing (an empty body — a client checking its credentials — or only
  // rejected lines) starts its answer here.
  start();
  res.end(`${JSON.stringify({ summary: failure ? { ...counts, error: failure } : counts })}\n`);
  if (!completed) discardBody(req, res);
}

/** The handler behind `SYNC_PATH`, after `requestContext`, `cors`, `identifyRequests` and `rateLimits.requests`. */
export function syncImportRoute(options: SyncRouteOptions): RequestHandler {
  return (req: Request, res: Response, next) => {
    const identity = identityOf(res);
    if (!identity.ok) {
      sendError(req, res, identity.error, 401);
      return;
    }
    const domain = decodeURIComponent(req.path.replace(/^\/+|\/+$/g, ''));
    const schema = options.schema();
    if (schema === undefined) {
      sendError(req, res, hubError(ErrorCode.DownstreamServiceError, 'the supergraph is not loaded yet'), 503);
      return;
    }
    const api = syncApiOf(schema, domain);
    if (api === undefined) {
      sendError(req, res, hubError(ErrorCode.NotFound, `no sync API for domain ${JSON.stringify(domain)}`), 404);
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendError(req, res, hubError(ErrorCode.BadRequest, `${SYNC_PATH}/${domain} accepts POST only`), 405);
      return;
    }
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== NDJSON) {
      const message = `the body must be NDJSON: Content-Type: ${NDJSON} (got ${type ?? 'none'})`;
      sendError(req, res, hubError(ErrorCode.BadRequest, message), 415);
      return;
    }
    const { viewer } = identity;
    if (isSafelisted(viewer)) {
      const message = 'partner keys run only the operations of their persisted query list; bulk import is not one';
      sendError(req, res, hubError(ErrorCode.Forbidden, message), 403);
      return;
    }
    const source = queryParameter(req, 'source');
    const firstLineText = queryParameter(req, 'first_line') ?? '1';
    const firstLine = Number(firstLineText);
    if (source !== undefined && (source.length === 0 || source.length > 200)) {
      sendError(req, res, hubError(ErrorCode.BadUserInput, 'source: 1 to 200 characters', { field: 'source' }), 400);
      return;
    }
    if (!/^\d{1,15}$/.test(firstLineText) || firstLine < 1) {
      const error = hubError(ErrorCode.BadUserInput, 'first_line: a line number from 1', { field: 'first_line' });
      sendError(req, res, error, 400);
      return;
    }
    const requestId = requestIdOf(res);
    const log = options.logger.child({ requestId, userId: viewer.userId, tenantId: viewer.tenantId });
    runImport(options, { req, res, api, viewer, requestId, log, source, firstLine }).catch(next);
  };
}
