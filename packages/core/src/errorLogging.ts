/**
 * Every unexpected error is logged with its request id, in the gateway and in every subgraph:
 * the caller sees only "Internal server error" (createErrorFormatter masks it), so the log line is
 * the only place its cause is kept. Expected errors (those with a hub code) are answers, not faults,
 * and are counted by the metrics instead.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

export interface ErrorLoggingOptions<C extends BaseContext> {
  log: Logger;
  /**
   * The request id of a request's context.
   * @default (context) => context.requestId
   */
  requestIdOf?: (context: C) => string | undefined;
}

function isUnexpected(error: GraphQLError): boolean {
  const code = error.extensions?.['code'];
  return typeof code !== 'string' || code === ErrorCode.InternalServerError;
}

export function useErrorLogging<C extends BaseContext>(options: ErrorLoggingOptions<C>): ApolloServerPlugin<C> {
  const requestIdOf =
    options.requestIdOf ?? ((context: C) => (context as { requestId?: string }).requestId ?? undefined);
  return {
    async requestDidStart({ contextValue }) {
      const requestId = requestIdOf(contextValue);
      return {
        async didEncounterErrors({ errors, operationName }) {
          for (const error of errors.filter(isUnexpected)) {
            options.log.error(
              { requestId, operationName, path: error.path, err: error.originalError ?? error },
              'unexpected error',
            );
          }
        },
      };
    },
    async unexpectedErrorProcessingRequest({ requestContext, error }) {
      options.log.error(
        { requestId: requestIdOf(requestContext.contextValue), err: error },
        'unexpected error processing request',
      );
    },
  };
}
