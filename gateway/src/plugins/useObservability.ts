import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '@hub/core/errors';
import type { GatewayContext } from '../context.js';
import type { GatewayMetrics } from '../metrics.js';

export interface ObservabilityOptions {
  metrics: GatewayMetrics;
}

/**
 * Read structurally, not with `instanceof GraphQLError`: the federation packages are CommonJS and
 * a test runner may load the ESM build of `graphql` beside them (two GraphQLError classes).
 */
function codeOf(error: unknown): string {
  const extensions =
    typeof error === 'object' && error !== null && 'extensions' in error ? error.extensions : undefined;
  const code =
    typeof extensions === 'object' && extensions !== null && 'code' in extensions ? extensions.code : undefined;
  return typeof code === 'string' ? code : ErrorCode.InternalServerError;
}

/**
 * Counts errors by code and writes one log line per GraphQL operation with the request id.
 * HTTP latency is measured by the express layer, which also sees requests refused before
 * Apollo Server starts its pipeline.
 */
export function useObservability(options: ObservabilityOptions): ApolloServerPlugin<GatewayContext> {
  const { metrics } = options;
  return {
    async contextCreationDidFail({ error }) {
      metrics.graphqlErrors.inc({ code: codeOf(error) });
    },
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      let errorCodes: string[] = [];
      return {
        async didEncounterErrors({ errors }) {
          errorCodes = errors.map(codeOf);
          for (const code of errorCodes) metrics.graphqlErrors.inc({ code });
        },
        async willSendResponse({ operationName, operation }) {
          contextValue.log.info(
            {
              operationName: operationName ?? undefined,
              operationType: operation?.operation,
              durationMs: Math.round(performance.now() - started),
              ...(errorCodes.length > 0 ? { errorCodes } : {}),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
