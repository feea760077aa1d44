import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** Every error the hub returns carries one of these in `extensions.code`. */
export enum ErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  DownstreamServiceError = 'DOWNSTREAM_SERVICE_ERROR',
  PersistedQueryNotInList = 'PERSISTED_QUERY_NOT_IN_LIST',
  /** The HTTP request is not a GraphQL request (malformed JSON body, APQ hash not matching its query). */
  BadRequest = 'BAD_REQUEST',
  /** Demand control: the operation exceeds a limit of the viewer (`extensions.measure`, `value`, `limit`). */
  OperationTooComplex = 'OPERATION_TOO_COMPLEX',
  /** Rate limit: the viewer's budget for the window is spent (`extensions.retryAfterSeconds`). */
  RateLimited = 'RATE_LIMITED',
  InternalServerError = 'INTERNAL_SERVER_ERROR',
  /** A subscription fell further behind than its buffer allows; `extensions.cursor` resumes it (issue 9). */
  SubscriberTooSlow = 'SUBSCRIBER_TOO_SLOW',
}

/**
 * Coded errors carry no HTTP status: Apollo Server would turn it into the status of the whole
 * response, and a refused field or write is partial data (200), not a failed request — the gateway
 * would otherwise read a subgraph's 403 as an outage. Only errors that end the whole request before
 * execution (`unauthenticated`, `requestForbidden`) set one.
 */
export function hubError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  httpStatus?: number,
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, ...extensions, ...(httpStatus ? { http: { status: httpStatus } } : {}) },
  });
}

/** Invalid input: the message and `extensions.field` name the offending field (dotted path). */
export function badUserInput(field: string, message: string): GraphQLError {
  return hubError(ErrorCode.BadUserInput, `${field}: ${message}`, { field });
}

export function notFound(type: string, id: string): GraphQLError {
  return hubError(ErrorCode.NotFound, `${type} ${JSON.stringify(id)} was not found`, { type, id });
}

/** Ends the request with HTTP 401: no or invalid credentials. */
export function unauthenticated(message = 'Authentication required'): GraphQLError {
  return hubError(ErrorCode.Unauthenticated, message, {}, 401);
}

/** A refused field or write: FORBIDDEN, the rest of the answer still arrives. */
export function forbidden(message = 'Not allowed'): GraphQLError {
  return hubError(ErrorCode.Forbidden, message);
}

/** Ends the whole request with HTTP 403 before execution (e.g. introspection by a non-admin). */
export function requestForbidden(message = 'Not allowed'): GraphQLError {
  return hubError(ErrorCode.Forbidden, message, {}, 403);
}

/** Ends the request with HTTP 400: what was sent is not a well-formed GraphQL request. */
export function badRequest(message: string): GraphQLError {
  return hubError(ErrorCode.BadRequest, message, {}, 400);
}

/**
 * Ends the request with HTTP 400 before any validation, planning or subgraph call: `measure`
 * (depth, aliases, rootFields, tokens, directives, cost) is `value`, above the viewer's `limit`.
 */
export function operationTooComplex(measure: string, value: number, limit: number): GraphQLError {
  return hubError(
    ErrorCode.OperationTooComplex,
    `Operation too complex: ${measure} is ${value}, the limit is ${limit}`,
    { measure, value, limit },
    400,
  );
}

/** Ends the request with HTTP 429; the caller adds the `Retry-After` header. */
export function rateLimited(limit: string, retryAfterSeconds: number): GraphQLError {
  return hubError(
    ErrorCode.RateLimited,
    `Rate limit exceeded (${limit}); retry after ${retryAfterSeconds} s`,
    { limit, retryAfterSeconds },
    429,
  );
}

interface PrismaKnownError {
  code: string;
  meta?: Record<string, unknown>;
}

/**
 * `instanceof GraphQLError` is unreliable when two copies of graphql are loaded (CommonJS Apollo
 * packages beside ESM sources, as under vitest); graphql 16 tags its classes, so check the tag.
 */
export function isGraphQLError(value: unknown): value is GraphQLError {
  return Object.prototype.toString.call(value) === '[object GraphQLError]';
}

/** Errors of lower layers (the store's scope guard) that carry the code they mean. */
function hubCodeOf(error: unknown): ErrorCode | undefined {
  const code =
    typeof error === 'object' && error !== null && 'hubCode' in error
      ? (error as { hubCode: unknown }).hubCode
      : undefined;
  return Object.values(ErrorCode).includes(code as ErrorCode) ? (code as ErrorCode) : undefined;
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof (error as { code: unknown }).code === 'string' &&
    /^P\d{4}$/.test((error as { code: string }).code)
  );
}

/**
 * The one place Prisma errors become GraphQL errors. Only the codes with a meaning for the
 * caller are mapped; everything else stays an internal error (masked in production).
 */
export function mapPrismaError(error: unknown, type = 'Record'): unknown {
  const hubCode = hubCodeOf(error);
  if (hubCode) return hubError(hubCode, error instanceof Error ? error.message : String(error));
  if (!isPrismaKnownError(error)) return error;
  switch (error.code) {
    case 'P2002': {
      // Driver adapters report the constraint under meta.driverAdapterError.cause.constraint.
      const adapterCause = (
        error.meta?.['driverAdapterError'] as
          { cause?: { constraint?: { fields?: string[]; index?: string } } } | undefined
      )?.cause;
      const target = error.meta?.['target'] ?? adapterCause?.constraint?.fields ?? adapterCause?.constraint?.index;
      const fields = Array.isArray(target) ? target.join(', ') : String(target ?? 'a unique field');
      return hubError(ErrorCode.Conflict, `${type} with the same ${fields} already exists`, { fields: target });
    }
    case 'P2010': {
      // A raw statement through Prisma hit a unique constraint: CONFLICT, as P2002. (The sync engine
      // runs on the store's own driver and answers such failures per event itself.)
      const cause = (
        error.meta?.['driverAdapterError'] as
          { cause?: { kind?: string; constraint?: { fields?: string[]; index?: string } } } | undefined
      )?.cause;
      if (cause?.kind !== 'UniqueConstraintViolation') return error;
      const target = cause.constraint?.fields ?? cause.constraint?.index;
      const fields = Array.isArray(target) ? target.join(', ') : String(target ?? 'a unique field');
      return hubError(ErrorCode.Conflict, `${type} with the same ${fields} already exists`, { fields: target });
    }
    case 'P2025':
      return hubError(ErrorCode.NotFound, `${type} was not found`, { type });
    case 'P2003':
      return hubError(ErrorCode.BadUserInput, `${type} refers to a record that does not exist`, {
        field: error.meta?.['field_name'],
      });
    default:
      return error;
  }
}

/**
 * `formatError` for every Apollo Server in the hub: codes are always present, internals are
 * masked unless `expose` (development) is set, stack traces never leave a production process.
 */
export function createErrorFormatter(options: { expose: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.['code'];
    const original = isGraphQLError(error) ? error.originalError : undefined;
    const mapped = original ? mapPrismaError(original) : undefined;
    // Only a Prisma error that mapPrismaError translated replaces the formatted error.
    if (isGraphQLError(mapped) && mapped !== original) {
      return {
        message: mapped.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...mapped.extensions },
      };
    }
    const known = typeof code === 'string' && code !== ErrorCode.InternalServerError;
    if (known) {
      if (options.expose) return formatted;
      const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    if (options.expose) {
      return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.InternalServerError } };
    }
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.InternalServerError },
    };
  };
}
