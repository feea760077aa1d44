/** The partner apps' persisted-query manifests (gateway/persisted/<app>.json), as the gateway loads them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@hub/core/process';

export interface PersistedOperation {
  readonly id: string;
  readonly name: string;
  readonly body: string;
}

const manifestFile = (app: string) => path.join(REPO_ROOT, 'gateway/persisted', `${app}.json`);

/** Every operation of app `app`'s manifest. */
export function persistedOperations(app = 'partner-portal'): readonly PersistedOperation[] {
  return (JSON.parse(readFileSync(manifestFile(app), 'utf8')) as { operations: PersistedOperation[] }).operations;
}

/** The operation `name` of app `app`'s manifest; throws when it is not there (a renamed operation). */
export function persistedOperation(name: string, app = 'partner-portal'): PersistedOperation {
  const op = persistedOperations(app).find((o) => o.name === name);
  if (!op) throw new Error(`operation ${name} is not in ${manifestFile(app)}`);
  return op;
}
