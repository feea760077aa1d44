import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices, type CompositionResult } from '@apollo/composition';
import { parse } from 'graphql';
import { DOMAINS } from '@hub/core/domains';
import { subgraphSchemaPath, subgraphSdl } from '@hub/core/subgraph';

/** Where `npm run compose` writes the supergraph, and where production reads it by default. */
export const DEFAULT_SUPERGRAPH_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../supergraph.graphql',
);

export interface SubgraphSource {
  readonly name: string;
  /** Routing URL recorded in the supergraph (the gateway's env can still override it). */
  readonly url: string;
  /** Full SDL: the subgraph's schema.graphql plus the shared common.graphql. */
  readonly sdl: string;
}

export type ComposeOutcome =
  | { readonly ok: true; readonly supergraphSdl: string; readonly hints: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** The repo's seven subgraphs, read the same way the subgraph kit serves them. */
export function repoSubgraphSources(urlOf: (name: string) => string): SubgraphSource[] {
  return DOMAINS.map((name) => ({ name, url: urlOf(name), sdl: subgraphSdl(subgraphSchemaPath(name)) }));
}

/** Composes with `@apollo/composition`; a parse error counts as a composition error of that subgraph. */
export function composeSupergraph(sources: readonly SubgraphSource[]): ComposeOutcome {
  const errors: string[] = [];
  const services = [];
  for (const source of sources) {
    try {
      services.push({ name: source.name, url: source.url, typeDefs: parse(source.sdl) });
    } catch (error) {
      errors.push(`[${source.name}] ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result: CompositionResult = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map((error) => error.message) };
  return { ok: true, supergraphSdl: result.supergraphSdl, hints: result.hints.map((hint) => hint.toString()) };
}

/** Composes the repo's subgraphs and writes the supergraph file; returns the outcome either way. */
export function composeRepo(options: { outFile?: string; urlOf: (name: string) => string }): ComposeOutcome {
  const outcome = composeSupergraph(repoSubgraphSources(options.urlOf));
  if (outcome.ok) writeFileSync(options.outFile ?? DEFAULT_SUPERGRAPH_PATH, outcome.supergraphSdl);
  return outcome;
}
