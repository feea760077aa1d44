import { createLogger, type Logger } from '@hub/core/logger';

export type { Logger };

/** Structured JSON logs on stdout; every request logs through a child carrying its request id. */
export function createGatewayLogger(level: string): Logger {
  return createLogger('gateway', level);
}
