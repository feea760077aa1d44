/**
 * Express error handler for the GraphQL route: what fails before Apollo Server runs still answers
 * as a GraphQL error with a code, in JSON, never express's HTML page. A malformed or oversized body
 * is BAD_REQUEST with express.json's own status (400, 413); anything else is an internal error,
 * logged with the request id and answered 500 without detail.
 */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { ErrorCode } from '@hub/core/errors';
import { requestIdOf } from '../http.js';
import type { Logger } from '../logger.js';

export interface RequestErrorsOptions {
  log: Logger;
}

/** body-parser marks its errors with `type`, `status` and `expose` (http-errors). */
interface HttpError {
  type?: string;
  status?: number;
  expose?: boolean;
}

const MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON',
  'entity.too.large': 'The request body is too large',
  'encoding.unsupported': 'The request body encoding is not supported',
  'charset.unsupported': 'The request body charset is not supported',
};

export function useRequestErrors(options: RequestErrorsOptions): ErrorRequestHandler {
  return (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const http = (typeof error === 'object' && error !== null ? error : {}) as HttpError;
    const status = typeof http.status === 'number' ? http.status : 500;
    let requestId: string | undefined;
    try {
      requestId = requestIdOf(res);
    } catch {
      requestId = undefined;
    }
    if (status >= 400 && status < 500 && http.expose === true) {
      const message = MESSAGES[http.type ?? ''] ?? 'The request is malformed';
      res.status(status).json({ errors: [{ message, extensions: { code: ErrorCode.BadRequest } }] });
      return;
    }
    options.log.error({ requestId, err: error }, 'unexpected error before GraphQL execution');
    res
      .status(500)
      .json({ errors: [{ message: 'Internal server error', extensions: { code: ErrorCode.InternalServerError } }] });
  };
}
