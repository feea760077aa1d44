import type { SubgraphEndpoint } from './config.js';

export interface SubgraphHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly supergraphLoaded: boolean;
  readonly subgraphs: readonly SubgraphHealth[];
}

/** `http://host:4003/graphql` -> `http://host:4003/healthz` (sibling of the GraphQL path). */
export function healthUrlOf(graphqlUrl: string): string {
  return new URL('healthz', graphqlUrl).toString();
}

export async function checkSubgraph(endpoint: SubgraphEndpoint, timeoutMs = 2000): Promise<SubgraphHealth> {
  try {
    const response = await fetch(healthUrlOf(endpoint.url), { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return { name: endpoint.name, ok: response.ok, status: response.status };
  } catch (error) {
    return { name: endpoint.name, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export async function checkSubgraphs(endpoints: readonly SubgraphEndpoint[]): Promise<SubgraphHealth[]> {
  return Promise.all(endpoints.map((endpoint) => checkSubgraph(endpoint)));
}

/**
 * Development start-up composes from the running subgraphs, which may still be migrating and
 * seeding; wait until each answers `/healthz` (or the time is up) instead of failing composition.
 * Returns the subgraphs that never became healthy.
 */
export async function waitForSubgraphs(
  endpoints: readonly SubgraphEndpoint[],
  timeoutMs: number,
  intervalMs = 250,
): Promise<SubgraphHealth[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...endpoints];
  let last: SubgraphHealth[] = [];
  while (pending.length > 0) {
    last = (await checkSubgraphs(pending)).filter((health) => !health.ok);
    pending = pending.filter((endpoint) => last.some((health) => health.name === endpoint.name));
    if (pending.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return pending.length === 0 ? [] : last;
}
