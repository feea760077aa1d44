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
import { REPO_ROOT, freePorts, runtimeFromEnv, spawnService, type ServiceProcess } from '@hub/core/process';
import { EnvReader } from '@hub/core/config';
import { pagesOutdated } from '@hub/console/pages';

const read = new EnvReader();
const config = read.done({
  gatewayPort: read.int('PORT', 4000, { max: 65535 }),
  dataDir: path.resolve(REPO_ROOT, read.string('HUB_DATA_DIR', '.data')),
  seedDemo: read.bool('HUB_SEED_DEMO', true),
});
const runtime = runtimeFromEnv();
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

// The browser pages (/graphiql, /console) are built by Vite into console/dist; the gateway serves them.
if (pagesOutdated()) {
  console.log('Building the browser pages (console/)…');
  execFileSync('npm', ['run', '-s', 'build', '-w', '@hub/console'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

// HUB_RUNTIME=compiled runs every process on plain node from the bundles of `npm run
// build:server`, rebuilt here at each start (about 2 s) so they never lag behind the source.
if (runtime === 'compiled') {
  console.log('Compiling the processes (HUB_RUNTIME=compiled)…');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/build-server.ts')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
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
  // Every subgraph knows every other's URL up front: the others fill their customer replica from the
  // customers subgraph, and each reads the streams it consumes from their producers (embedded bus).
  // All start at once: a domain waits (retrying) for the customers snapshot before it says ready.
  // A port of 0 (SUBGRAPH_<DOMAIN>_PORT=0) is replaced by a free port chosen here.
  const spare = await freePorts(DOMAINS.length);
  const ports = Object.fromEntries(
    DOMAINS.map((d, i) => {
      const port = Number(process.env[`SUBGRAPH_${d.toUpperCase()}_PORT`] ?? SUBGRAPH_PORTS[d]);
      return [d, port === 0 ? (spare[i] ?? 0) : port];
    }),
  ) as Record<Domain, number>;
  const urls = Object.fromEntries(DOMAINS.map((d) => [d, `http://127.0.0.1:${ports[d]}/graphql`])) as Record<
    Domain,
    string
  >;
  const subgraphUrls = {
    ...Object.fromEntries(DOMAINS.map((d) => [`HUB_SUBGRAPH_${d.toUpperCase()}_URL`, urls[d]])),
    HUB_CUSTOMERS_URL: urls.customers,
  };
  const subgraphs = await Promise.all(
    DOMAINS.map((d) => startSubgraph(d, { ...subgraphUrls, PORT: String(ports[d]) })),
  );
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
  const origin = gateway.url.replace('127.0.0.1', 'localhost').replace(/\/graphql$/, '');
  console.log(`Open it in a browser for Apollo Sandbox; offline: ${origin}/graphiql, the console: ${origin}/console.`);
  console.log('Get a development token with:');
  console.log('  npm run token -- --tenant acme --role admin --user u1');
  console.log(`Logs: ${path.relative(process.cwd(), logDir)}/<service>.log — Ctrl+C stops everything.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  await shutdown(1);
}
