/**
 * The partner safelist. A partner (API-key) request may only run an operation of its app's
 * manifest, gateway/persisted/<app>.json in Apollo's `apollo-persisted-query-manifest` format,
 * named by id: `extensions.persistedQuery.sha256Hash` (Apollo's persisted-query link) or a body
 * `id`. The gateway substitutes the manifest's body, so partners never send GraphQL text. A
 * free-form `query`, an unknown id or a GET -> PERSISTED_QUERY_NOT_IN_LIST (HTTP 400), as Apollo
 * Router answers. First-party (bearer token) requests pass untouched and keep APQ.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCode, hubError } from '@hub/core/errors';
import { hasRole, type Viewer } from '@hub/core/viewer';
import { identityOf, refuseRequest } from '../identify.js';

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export interface PersistedOperation {
  readonly id: string;
  readonly name: string;
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly body: string;
}

export interface PersistedQueryManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: 1;
  readonly operations: readonly PersistedOperation[];
}

/** Operations by id, per app. */
export type Safelists = ReadonlyMap<string, ReadonlyMap<string, PersistedOperation>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and checks one manifest; throws naming the file on anything malformed (fail at start-up). */
export function parseManifest(text: string, file: string): Map<string, PersistedOperation> {
  const manifest: unknown = JSON.parse(text);
  if (!isRecord(manifest) || manifest['format'] !== MANIFEST_FORMAT || manifest['version'] !== 1) {
    throw new Error(`${file}: not an ${MANIFEST_FORMAT} version 1`);
  }
  const operations = manifest['operations'];
  if (!Array.isArray(operations)) throw new Error(`${file}: "operations" must be an array`);
  const byId = new Map<string, PersistedOperation>();
  for (const op of operations) {
    if (
      !isRecord(op) ||
      typeof op['id'] !== 'string' ||
      typeof op['name'] !== 'string' ||
      typeof op['body'] !== 'string' ||
      !['query', 'mutation', 'subscription'].includes(String(op['type']))
    ) {
      throw new Error(`${file}: every operation needs a string id, name and body and a type`);
    }
    byId.set(op['id'], op as unknown as PersistedOperation);
  }
  return byId;
}

/** Every `<app>.json` manifest of `dir`; a missing directory means no partner operation runs. */
export function loadSafelists(dir: string): Safelists {
  const lists = new Map<string, Map<string, PersistedOperation>>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  } catch {
    return lists;
  }
  for (const file of files) {
    const full = path.join(dir, file);
    lists.set(path.basename(file, '.json'), parseManifest(readFileSync(full, 'utf8'), full));
  }
  return lists;
}

function notInList(id: string | undefined): ReturnType<typeof hubError> {
  const message =
    id === undefined
      ? 'Partner requests must name an operation of their persisted query list (extensions.persistedQuery.sha256Hash or id)'
      : `Persisted query '${id}' not found in the persisted query list`;
  return hubError(ErrorCode.PersistedQueryNotInList, message, { http: { status: 400 } });
}

/** True when the safelist applies: partners, whether by API key or (fail closed) by token. */
export function isSafelisted(viewer: Viewer): boolean {
  return viewer.app !== undefined || hasRole(viewer, 'partner');
}

/** The id a request names, from the body `id` or Apollo's persisted-query extension. */
function requestedId(body: Record<string, unknown>): string | undefined {
  if (typeof body['id'] === 'string') return body['id'];
  const extensions = body['extensions'];
  const persisted = isRecord(extensions) ? extensions['persistedQuery'] : undefined;
  const hash = isRecord(persisted) ? persisted['sha256Hash'] : undefined;
  return typeof hash === 'string' ? hash : undefined;
}

/**
 * Express middleware, after `identifyRequests` and `express.json`. Rewrites an allowed partner
 * request into a plain `{ query, variables, operationName }` — without the persisted-query
 * extension, so Apollo Server's APQ neither looks the hash up nor caches the body — and records a
 * refusal for anything else.
 */
export function usePersistedOperations(options: { safelists: Safelists }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const identity = identityOf(res);
    if (!identity.ok || !isSafelisted(identity.viewer)) {
      next();
      return;
    }
    const app = identity.viewer.app;
    const list = app === undefined ? undefined : options.safelists.get(app);
    const body: unknown = req.body;
    if (req.method !== 'POST' || !isRecord(body)) {
      refuseRequest(res, notInList(undefined), 'partner request is not a POSTed JSON object');
    } else if (typeof body['query'] === 'string' && body['query'] !== '') {
      refuseRequest(res, notInList(undefined), 'partner sent a free-form query');
    } else {
      const id = requestedId(body);
      const operation = id === undefined ? undefined : list?.get(id);
      if (id === undefined || operation === undefined) {
        refuseRequest(res, notInList(id), `operation ${id ?? '(none)'} is not in the safelist of ${app ?? '(no app)'}`);
      } else {
        const { persistedQuery: _persisted, ...extensions } = isRecord(body['extensions']) ? body['extensions'] : {};
        const { id: _id, ...rest } = body;
        req.body = { ...rest, query: operation.body, extensions };
      }
    }
    next();
  };
}
