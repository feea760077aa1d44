import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs, one logger per process; request loggers are children with `requestId`. */
export function createLogger(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
