import { parseArgs } from 'node:util';
import { ConfigError } from '@hub/core/config';
import { loadGatewayConfig } from './config.js';
import { createGatewayLogger } from './logger.js';
import { startGateway } from './server.js';

// Flags mirror env vars for the launcher and for production images: `--supergraph <file>`, `--port <n>`.
const { values: flags } = parseArgs({
  options: { supergraph: { type: 'string' }, port: { type: 'string' } },
  allowPositionals: false,
});

let config;
try {
  config = loadGatewayConfig(process.env, {
    ...(flags.supergraph !== undefined ? { SUPERGRAPH_PATH: flags.supergraph } : {}),
    ...(flags.port !== undefined ? { PORT: flags.port } : {}),
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`gateway: ${error.message}\n`);
  process.exit(1);
}

const logger = createGatewayLogger(config.logLevel);
let running;
try {
  running = await startGateway(config, { logger });
} catch (error) {
  logger.fatal({ err: error }, 'gateway failed to start');
  process.stderr.write(`gateway: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

// Written directly, whatever LOG_LEVEL says: the launcher and the e2e tests wait for this line.
process.stdout.write(
  `${JSON.stringify({ level: 30, time: new Date().toISOString(), service: 'gateway', msg: 'gateway ready', url: running.url, port: running.port, metricsUrl: running.metricsUrl, composition: config.supergraphPath ?? 'introspect' })}\n`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'gateway stop failed');
        process.exit(1);
      },
    );
  });
}
