/**
 * Where each subgraph's SDL comes from, and the whole SDL the subgraph kit serves: one home for the
 * kit, the gateway's composition from files, the codegen loaders' twin (scripts/codegen-api-schema.mjs),
 * the classification check and the hub-wide metadata the SDL declares (classification, response-cache
 * decisions). Light on purpose (files and strings only), so tools can import it without the kit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertClassified, classifyDocument, type Classification, type FieldClass } from './classification.js';
import { DOMAINS } from './domains.js';
import {
  mergeResponseCachePolicies,
  readResponseCachePolicy,
  type ResponseCachePolicy,
} from './responseCachePolicy.js';
import { declaresSync, syncSdl } from './sync/sdl.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COMMON_SDL_PATH = path.join(ROOT, 'packages/core/src/graphql/common.graphql');
const SYNC_SDL_PATH = path.join(ROOT, 'packages/core/src/graphql/sync.graphql');
const EVENTS_SDL_PATH = path.join(ROOT, 'packages/core/src/graphql/events.graphql');

/**
 * The full SDL of a subgraph: its own schema.graphql plus the shared common.graphql, and, when
 * the schema declares `input <Domain>SyncEventInput`, the shared sync.graphql and the domain's
 * sync fields (`syncSdl`). The domain is the name of the schema's folder (subgraphs/<domain>/).
 */
export function subgraphSdl(schemaPath: string): string {
  const own = readFileSync(schemaPath, 'utf8');
  // Every subgraph serves its own stream to the others (`_events`, events.graphql).
  const common = `${readFileSync(COMMON_SDL_PATH, 'utf8')}\n${readFileSync(EVENTS_SDL_PATH, 'utf8')}`;
  const domain = path.basename(path.dirname(schemaPath));
  if (!declaresSync(domain, own)) return `${own}\n${common}`;
  return `${own}\n${common}\n${readFileSync(SYNC_SDL_PATH, 'utf8')}\n${syncSdl(domain)}`;
}

export function subgraphSchemaPath(domain: string): string {
  return path.join(ROOT, 'subgraphs', domain, 'schema.graphql');
}

/**
 * One classification of several subgraphs' (each its own `classifyDocument`): a shared
 * (`@shareable`) type is declared by several of them, and they must agree on each field's level.
 */
export function mergeClassifications(named: Iterable<readonly [string, Classification]>): Classification {
  const fields = new Map<string, FieldClass>();
  const problems: string[] = [];
  for (const [name, own] of named) {
    problems.push(...own.problems.map((problem) => `${name}: ${problem}`));
    for (const [coordinate, value] of own.fields) {
      const previous = fields.get(coordinate);
      if (previous && previous.level !== value.level)
        problems.push(`${name}: ${coordinate} is ${value.level} here, ${previous.level} in another subgraph`);
      else fields.set(coordinate, value);
    }
  }
  return { fields, problems };
}

let hub: Classification | undefined;

/**
 * The classification of every subgraph field of the hub, from the repo's schema files (what the
 * subgraphs serve). For checks that name fields of other domains, e.g. a partner grant.
 */
export function hubClassification(): Classification {
  if (hub) return hub;
  const merged = mergeClassifications(
    DOMAINS.map((domain) => [domain, classifyDocument(subgraphSdl(subgraphSchemaPath(domain)))] as const),
  );
  assertClassified('the hub', merged);
  return (hub = merged);
}

let cachePolicy: ResponseCachePolicy | undefined;

/**
 * The response-cache decision of every Query root field of the hub (`@responseCache`,
 * responseCachePolicy.ts), from the repo's schema files. Not asserted here: a field without a valid
 * decision is simply not in `cached` (the gateway's default-deny); `npm run classification:check`
 * refuses it.
 */
export function hubResponseCachePolicy(): ResponseCachePolicy {
  return (cachePolicy ??= mergeResponseCachePolicies(
    DOMAINS.map((domain) => [domain, readResponseCachePolicy(subgraphSdl(subgraphSchemaPath(domain)))] as const),
  ));
}
