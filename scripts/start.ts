/**
 * `npm start`: the whole hub on one machine. Seven subgraph processes and the gateway.
 *
 * Stores: embedded PGlite under HUB_DATA_DIR (default .data/<domain>) unless Postgres is configured
 * (DATABASE_URL for one server/database with a schema per domain, or <DOMAIN>_DATABASE_URL each).
 * First start applies migrations and loads the demo data set; later starts reuse the data.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DOMAINS, SUBGRAPH_PORTS, type Domain } from '@hub/core/domains';
import { REPO_ROOT, spawnService, type ServiceProcess } from '@hub/core/process';
import { EnvReader } from '@hub/core/config';

const read = new EnvReader();
const config = read.done({
  gatewayPort: read.int('PORT', 4000, { max: 65535 }),
  dataDir: path.resolve(REPO_ROOT, read.string('HUB_DATA_DIR', '.data')),
  seedDemo: read.bool('HUB_SEED_DEMO', true),
});
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
const logDir = path.join(config.dataDir, 'logs');

// A fresh clone has no generated Prisma clients yet (they are build output, not source).
if (DOMAINS.some((domain) => !existsSync(path.join(REPO_ROOT, 'prisma', domain, 'generated', 'client.ts')))) {
  console.log('Generating Prisma clients (first start)…');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'prisma/src/cli/generate.ts'), 'all'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}

const usesPostgres =
  Boolean(process.env['DATABASE_URL']) || DOMAINS.some((d) => process.env[`${d.toUpperCase()}_DATABASE_URL`]);
console.log(
  usesPostgres
    ? 'Starting the Customer Data Hub on PostgreSQL…'
    : `Starting the Customer Data Hub on embedded Postgres (PGlite) in ${path.relative(process.cwd(), config.dataDir) || '.'}…`,
);

const running: ServiceProcess[] = [];
const shutdown = async (code: number) => {
  await Promise.all(running.map((service) => service.stop()));
  process.exit(code);
};
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  const startSubgraph = async (domain: Domain, extra: Record<string, string> = {}) => {
    const service = await spawnService({
      name: domain,
      entry: `subgraphs/${domain}/src/index.ts`,
      env: {
        PORT: String(process.env[`SUBGRAPH_${domain.toUpperCase()}_PORT`] ?? SUBGRAPH_PORTS[domain]),
        HUB_DATA_DIR: config.dataDir,
        HUB_SEED_DEMO: String(config.seedDemo),
        ...extra,
      },
      readyMessage: 'subgraph ready',
      logFile: path.join(logDir, `${domain}.log`),
      timeoutMs: 300_000,
    });
    running.push(service);
    console.log(`  ${domain.padEnd(10)} ${service.url}  (${seconds()} s)`);
    return service;
  };
  // The other domains check customer ids against the customers subgraph before writing: with a
  // fixed port its URL is known up front and all seven start at once; with port 0, customers first.
  const customersPort = Number(process.env['SUBGRAPH_CUSTOMERS_PORT'] ?? SUBGRAPH_PORTS.customers);
  const others = DOMAINS.filter((d) => d !== 'customers');
  let subgraphs: ServiceProcess[];
  if (customersPort !== 0) {
    const customersUrl = `http://127.0.0.1:${customersPort}/graphql`;
    subgraphs = await Promise.all([
      startSubgraph('customers'),
      ...others.map((d) => startSubgraph(d, { HUB_CUSTOMERS_URL: customersUrl })),
    ]);
  } else {
    const customers = await startSubgraph('customers');
    subgraphs = [
      customers,
      ...(await Promise.all(others.map((d) => startSubgraph(d, { HUB_CUSTOMERS_URL: customers.url })))),
    ];
  }
  const gateway = await spawnService({
    name: 'gateway',
    entry: 'gateway/src/index.ts',
    env: {
      PORT: String(config.gatewayPort),
      ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, s.url])),
    },
    readyMessage: 'gateway ready',
    logFile: path.join(logDir, 'gateway.log'),
  });
  running.push(gateway);
  for (const service of running) {
    service.child.once('exit', (code) => {
      console.error(
        `${service.name} exited with ${code}; see ${path.join(logDir, `${service.name}.log`)}. Stopping the hub.`,
      );
      void shutdown(1);
    });
  }
  console.log(`\nCustomer Data Hub ready in ${seconds()} s: ${gateway.url.replace('127.0.0.1', 'localhost')}`);
  console.log('Open it in a browser for Apollo Sandbox. Get a development token with:');
  console.log('  npm run token -- --tenant acme --role admin --user u1');
  console.log(`Logs: ${path.relative(process.cwd(), logDir)}/<service>.log — Ctrl+C stops everything.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  await shutdown(1);
}
