/**
 * The GraphQL operation of an HTTP request, read before Apollo Server runs so that demand control,
 * input checks and rate limits decide on it before Apollo's validation and query planning: the
 * body's `query` (partners' persisted operations are substituted there by the safelist), or, for an
 * APQ hash-only request, the text registered under that hash. The parsed operation is kept on
 * `res.locals` for the middlewares after the one that parsed it.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { Lexer, Source, TokenKind, type DocumentNode, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import { canonicalJson } from '@hub/core/canonicalJson';
import { badRequest } from '@hub/core/errors';

/** Apollo Server keeps APQ entries under this prefix in the cache it is given (requestPipeline.ts). */
const APQ_CACHE_PREFIX = 'apq:';

/** The read side of the APQ cache Apollo Server is given. */
export interface ApqStore {
  get(key: string): Promise<string | undefined>;
}

export interface OperationRequest {
  readonly source: string;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown>;
}

export type ReadOutcome =
  | { readonly kind: 'request'; readonly request: OperationRequest }
  /** Nothing to decide on here (no query, an unknown hash, unparsable parameters): Apollo answers it. */
  | { readonly kind: 'pass' }
  | { readonly kind: 'refused'; readonly error: GraphQLError };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** GET parameters carry `variables` and `extensions` as JSON text. */
function jsonParameter(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function parametersOf(req: Request): Record<string, unknown> | undefined {
  if (req.method === 'GET') {
    const query = req.query as Record<string, unknown>;
    return { ...query, variables: jsonParameter(query['variables']), extensions: jsonParameter(query['extensions']) };
  }
  return isRecord(req.body) ? req.body : undefined;
}

/** The operation text and its parameters, resolving an APQ hash the way Apollo Server will. */
export async function readOperation(req: Request, apq: ApqStore): Promise<ReadOutcome> {
  const params = parametersOf(req);
  if (params === undefined) return { kind: 'pass' };
  const variables = isRecord(params['variables']) ? params['variables'] : {};
  const operationName = typeof params['operationName'] === 'string' ? params['operationName'] : undefined;
  const extensions = isRecord(params['extensions']) ? params['extensions'] : {};
  const persisted = isRecord(extensions['persistedQuery']) ? extensions['persistedQuery'] : undefined;
  const hash = typeof persisted?.['sha256Hash'] === 'string' ? persisted['sha256Hash'] : undefined;
  let source = typeof params['query'] === 'string' && params['query'] !== '' ? params['query'] : undefined;
  if (hash !== undefined && source !== undefined) {
    // Apollo answers a mismatch with an uncoded error (masked as an internal one): refuse it here, coded.
    if (createHash('sha256').update(source).digest('hex') !== hash) {
      return { kind: 'refused', error: badRequest('extensions.persistedQuery.sha256Hash does not match the query') };
    }
  } else if (hash !== undefined) {
    source = await apq.get(APQ_CACHE_PREFIX + hash);
  }
  if (source === undefined) return { kind: 'pass' };
  return { kind: 'request', request: { source, operationName, variables } };
}

/**
 * Tokens of `source`, counted with graphql-js's own lexer. Armor's token limit is a parser hook
 * that stops at the limit, so it cannot report the measured value; lexing is linear and the body is
 * bounded by express.json's limit. Returns undefined on a syntax error (Apollo reports it).
 */
export function countTokens(source: string): number | undefined {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    return undefined;
  }
  return count;
}

/** What demand control resolved, for the middlewares after it. */
export interface ResolvedOperation {
  readonly request: OperationRequest;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly cost: number;
  /** The variables as canonical JSON (keys sorted), computed once per request: memo and cache keys. */
  readonly variablesKey: string;
}

/** Longer variables are not memoized: such requests are rarely repeated, and their keys would be large. */
const MEMO_MAX_KEY = 2048;
/** Variable sets remembered per operation and purpose; past it the operation's memo starts afresh. */
const MEMO_PER_OPERATION = 64;

export function variablesKeyOf(variables: Record<string, unknown>): string {
  return canonicalJson(variables);
}

/**
 * What a middleware computes from one parsed operation and its variables alone (the cost, the input
 * checks), kept per operation node — demand control keeps one parsed document per text and schema,
 * so a new supergraph starts afresh — and per canonical variables. Clients repeat the same requests
 * (a dashboard's polls, a partner's persisted operations): they are computed once, not per request.
 * Only values worth keeping are stored (`keep`): a refusal is recomputed, and its error is new each time.
 */
export function memoByVariables<T>(
  memo: WeakMap<OperationDefinitionNode, Map<string, T>>,
  resolved: Pick<ResolvedOperation, 'operation' | 'variablesKey'>,
  compute: () => T,
  keep: (value: T) => boolean = () => true,
): T {
  const { operation, variablesKey } = resolved;
  if (variablesKey.length > MEMO_MAX_KEY) return compute();
  let known = memo.get(operation);
  const cached = known?.get(variablesKey);
  if (cached !== undefined || known?.has(variablesKey)) return cached as T;
  const value = compute();
  if (keep(value)) {
    if (!known || known.size >= MEMO_PER_OPERATION) memo.set(operation, (known = new Map()));
    known.set(variablesKey, value);
  }
  return value;
}

export function setResolvedOperation(res: Response, resolved: ResolvedOperation): void {
  res.locals['operation'] = resolved;
}

/** The operation demand control accepted, or undefined when it left the request to Apollo. */
export function resolvedOperationOf(res: Response): ResolvedOperation | undefined {
  return res.locals['operation'] as ResolvedOperation | undefined;
}
