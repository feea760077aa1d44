import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, parse, type ConstDirectiveNode, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { REPO_ROOT } from '@hub/core/process';
import { composeSupergraph, repoSubgraphSources } from '../src/compose.js';
import { startGateway } from '../src/server.js';
import {
  CUSTOMERS_SDL,
  SALES_SDL,
  post,
  startCustomersSubgraph,
  startSalesSubgraph,
  testConfig,
  token,
} from './helpers.js';

const run = promisify(execFile);

function stringArg(directive: ConstDirectiveNode, name: string): string | undefined {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  return arg?.value.kind === Kind.STRING || arg?.value.kind === Kind.ENUM ? arg.value.value : undefined;
}

/** Supergraph enum value (`SALES`) -> subgraph name (`sales`), from `@join__graph(name:)`. */
function graphNames(supergraph: DocumentNode): Map<string, string> {
  const names = new Map<string, string>();
  for (const definition of supergraph.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const join = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = join && stringArg(join, 'name');
      if (name) names.set(value.name.value, name);
    }
  }
  return names;
}

function objectType(supergraph: DocumentNode, name: string) {
  const type = supergraph.definitions.find((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === name);
  if (type?.kind !== Kind.OBJECT_TYPE_DEFINITION) throw new Error(`no type ${name} in the supergraph`);
  return type;
}

describe('composition of the repo’s seven subgraphs', () => {
  const outcome = composeSupergraph(repoSubgraphSources((name) => `http://127.0.0.1:1/${name}`));

  it('composes without errors', () => {
    expect(outcome.ok ? [] : outcome.errors).toEqual([]);
  });

  it('makes Customer an entity keyed by id that all seven subgraphs resolve', () => {
    if (!outcome.ok) throw new Error('composition failed');
    const supergraph = parse(outcome.supergraphSdl);
    const names = graphNames(supergraph);
    const resolvedBy = objectType(supergraph, 'Customer')
      .directives?.filter((d) => d.name.value === 'join__type')
      .filter((d) => stringArg(d, 'key') === 'id')
      .filter(
        (d) =>
          !d.arguments?.some((a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && !a.value.value),
      )
      .map((d) => names.get(stringArg(d, 'graph') ?? ''));
    expect(new Set(resolvedBy)).toEqual(new Set(DOMAINS));
  });

  it('has every domain contribute Customer fields of its own', () => {
    if (!outcome.ok) throw new Error('composition failed');
    const supergraph = parse(outcome.supergraphSdl);
    const names = graphNames(supergraph);
    const contributors = new Set<string>();
    for (const field of objectType(supergraph, 'Customer').fields ?? []) {
      const joins = field.directives?.filter((d) => d.name.value === 'join__field') ?? [];
      // A field without @join__field belongs to every graph that declares the type: that is customers' `id`.
      for (const join of joins) {
        const name = names.get(stringArg(join, 'graph') ?? '');
        if (name && field.name.value !== 'id') contributors.add(name);
      }
    }
    expect([...contributors].sort()).toEqual([...DOMAINS].sort());
  });
});

describe('composition failures', () => {
  it('reports conflicting subgraphs instead of writing a supergraph', () => {
    const broken = SALES_SDL.replace('openOpportunities: Int', 'openOpportunities: Int name: Int!');
    const outcome = composeSupergraph([
      { name: 'customers', url: 'http://127.0.0.1:1/graphql', sdl: CUSTOMERS_SDL },
      { name: 'sales', url: 'http://127.0.0.1:2/graphql', sdl: broken },
    ]);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.errors.join('\n')).toMatch(/Customer\.name/);
  });

  it('reports an SDL syntax error with the subgraph’s name', () => {
    const outcome = composeSupergraph([{ name: 'sales', url: 'http://127.0.0.1:2/graphql', sdl: 'type Query {' }]);
    expect(outcome.ok ? [] : outcome.errors).toEqual([expect.stringMatching(/^\[sales\] Syntax Error/)]);
  });
});

describe('npm run compose and the production gateway', () => {
  it('the CLI writes a supergraph file that the gateway serves without introspecting', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hub-compose-'));
    try {
      const out = path.join(dir, 'supergraph.graphql');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'gateway/src/cli/compose.ts', '--out', out], {
        cwd: REPO_ROOT,
      });
      expect(stdout).toMatch(/wrote .*supergraph\.graphql \(7 subgraphs\)/);
      expect(await readFile(out, 'utf8')).toMatch(/join__Graph/);

      // Production mode: a supergraph file for two small subgraphs, no composition at start-up.
      const customers = await startCustomersSubgraph();
      const sales = await startSalesSubgraph();
      const small = composeSupergraph([
        { name: 'customers', url: 'http://127.0.0.1:1/graphql', sdl: CUSTOMERS_SDL },
        { name: 'sales', url: 'http://127.0.0.1:2/graphql', sdl: SALES_SDL },
      ]);
      if (!small.ok) throw new Error(small.errors.join('\n'));
      const file = path.join(dir, 'small.graphql');
      await writeFile(file, small.supergraphSdl);
      const gateway = await startGateway(
        testConfig([customers, sales], { supergraphPath: file, nodeEnv: 'production' }),
      );
      try {
        const result = await post(gateway.url, { query: '{ customers { id openOpportunities } }' }, await token());
        expect(result.body).toEqual({
          data: {
            customers: [
              { id: 'cust_00001', openOpportunities: 10 },
              { id: 'cust_00002', openOpportunities: 10 },
            ],
          },
        });
        // Nothing introspected the subgraphs: the tenantless system viewer (composition) never called them.
        // (The sales rep's scope lookup is a system call too, but within the rep's tenant.)
        expect(customers.viewers.some((viewer) => viewer.userId === 'system' && viewer.tenantId === null)).toBe(false);
      } finally {
        await gateway.stop();
        await Promise.all([customers.stop(), sales.stop()]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
