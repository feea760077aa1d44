/**
 * Spawning hub processes (subgraphs, gateway) and waiting for their "ready" log line.
 * Shared by the `npm start` launcher and the end-to-end tests, so both run the hub the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where `npm run build:server` writes the compiled processes. */
export const COMPILED_ROOT = path.join(REPO_ROOT, 'dist/server');

/** The compiled bundle of a process entry, relative to the repo root (`dist/server/<entry>.js`). */
export function compiledEntry(entry: string): string {
  return path.join('dist/server', entry.replace(/\.ts$/, '.js'));
}

/**
 * How processes run: `tsx` (TypeScript compiled on the fly; development and tests) or `compiled`
 * (plain node on the bundles of `npm run build:server`; production). From `HUB_RUNTIME`.
 */
export type Runtime = 'tsx' | 'compiled';

export function runtimeFromEnv(env: Record<string, string | undefined> = process.env): Runtime {
  const value = env.HUB_RUNTIME ?? 'tsx';
  if (value !== 'tsx' && value !== 'compiled') throw new Error(`HUB_RUNTIME must be tsx or compiled, not ${value}`);
  return value;
}

export interface ServiceProcess {
  name: string;
  url: string;
  /** `/metrics` of the process, when its ready line names one (`metricsUrl`). */
  metricsUrl: string | undefined;
  child: ChildProcess;
  /** Sends SIGTERM and waits for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** A crash: SIGKILL, no shutdown hooks; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the same entry again on the same port (callers keep their URL), once this one has exited. */
  respawn(): Promise<ServiceProcess>;
}

export interface SpawnOptions {
  name: string;
  /** Entry file relative to the repo root, e.g. `subgraphs/sales/src/index.ts`. */
  entry: string;
  env: Record<string, string | undefined>;
  /** Log message that marks readiness; the line must also carry `url`. */
  readyMessage: string;
  /** Where to append the process's JSON log lines; by default they are dropped unless it fails. */
  logFile?: string;
  timeoutMs?: number;
  /** Default: `HUB_RUNTIME` of this process (tsx when unset). */
  runtime?: Runtime;
}

/**
 * Starts `node --import tsx <entry>` (or `node <its bundle>` with the compiled runtime) and
 * resolves once it logs `readyMessage` with a `url`.
 */
export function spawnService(options: SpawnOptions): Promise<ServiceProcess> {
  const runtime = options.runtime ?? runtimeFromEnv();
  const compiled = path.join(REPO_ROOT, compiledEntry(options.entry));
  if (runtime === 'compiled' && !existsSync(compiled))
    return Promise.reject(new Error(`${compiled} is missing: run npm run build:server first`));
  const args = runtime === 'compiled' ? [compiled] : ['--import', 'tsx', path.join(REPO_ROOT, options.entry)];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log: NodeJS.WritableStream | undefined;
  if (options.logFile) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: 'a' });
  }
  const recent: string[] = [];
  const remember = (line: string) => {
    log?.write(`${line}\n`);
    recent.push(line);
    if (recent.length > 40) recent.shift();
  };
  const stop = (graceMs = 5000) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
    });

  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => {
      void stop(0);
      reject(
        new Error(`${options.name} was not ready within ${options.timeoutMs ?? 120_000} ms:\n${recent.join('\n')}`),
      );
    }, options.timeoutMs ?? 120_000);
    createInterface({ input: child.stderr }).on('line', remember);
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      if (!line.includes(options.readyMessage)) return;
      try {
        const entry = JSON.parse(line) as { url?: string; port?: number; metricsUrl?: string };
        if (!entry.url) return;
        clearTimeout(timeout);
        const { port } = new URL(entry.url);
        resolve({
          name: options.name,
          url: entry.url,
          metricsUrl: entry.metricsUrl,
          child,
          stop,
          kill: () => stop(0),
          respawn: async () => {
            await stop();
            return spawnService({ ...options, env: { ...options.env, PORT: port } });
          },
        });
      } catch {
        // not a JSON log line; keep waiting
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${recent.join('\n')}`));
    });
  });
}

/**
 * `count` distinct free TCP ports on 127.0.0.1, all held open together while chosen so none repeats.
 * For launching processes that must know each other's URLs before any of them listens (every
 * subgraph reads the others' event streams); a port taken in between is reported by that process.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
