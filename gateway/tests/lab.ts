/**
 * A small real subgraph for the gateway's demand-control and input tests: Federation's
 * @cost/@listSize, a connection, the hub's custom scalars, an enum and a nested input.
 */
import type { GatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startCustomersSubgraph, startFakeSubgraph, testConfig, type FakeSubgraph } from './helpers.js';

export const LAB_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize", "@shareable"])
  scalar Money
  scalar DateTime
  input NoteInput {
    text: String!
    amount: Money
    at: DateTime
    tags: [String!]
    nested: NoteInput
  }
  type Item {
    id: ID!
    cheap: Int
    expensive: Int @cost(weight: 50)
    children(first: Int = 5): [Item!]! @listSize(slicingArguments: ["first"])
  }
  type ItemEdge {
    node: Item!
  }
  type ItemConnection {
    totalCount: Int
    edges: [ItemEdge!]!
  }
  enum Kind {
    SMALL
    LARGE
  }
  type Query {
    kinds(kind: Kind): String
    page(first: Int): ItemConnection!
    items(first: Int): [Item!]! @listSize(slicingArguments: ["first"])
    assumed: [Item!]! @listSize(assumedSize: 7)
    plain: [Item!]!
    echo(text: String, amount: Money, at: DateTime): String
  }
  type Mutation {
    note(input: NoteInput!): String
  }
`;

const item = (id: number) => ({ id: String(id), cheap: 1, expensive: 2 });

export function startLab(): Promise<FakeSubgraph> {
  return startFakeSubgraph({
    name: 'lab',
    sdl: LAB_SDL,
    resolvers: {
      Query: {
        items: (_p: unknown, { first }: { first?: number }) => Array.from({ length: first ?? 3 }, (_, i) => item(i)),
        assumed: () => [item(1)],
        kinds: () => 'ok',
        page: () => ({ totalCount: 1, edges: [{ node: item(1) }] }),
        plain: () => [item(1)],
        echo: (_p: unknown, args: Record<string, unknown>) => JSON.stringify(args),
      },
      Mutation: { note: (_p: unknown, { input }: { input: unknown }) => JSON.stringify(input) },
      Item: {
        children: (_p: unknown, { first }: { first: number }) => Array.from({ length: first }, (_, i) => item(i)),
      },
    },
  });
}

/** Runs `fn` and returns how many requests `subgraph` answered meanwhile (0: refused before any fetch). */
export async function callsDuring(subgraph: FakeSubgraph, fn: () => Promise<unknown>): Promise<number> {
  const before = subgraph.viewers.length;
  await fn();
  return subgraph.viewers.length - before;
}

/** The customers and lab subgraphs behind a gateway: the fixture of the demand-control and error-code tests. */
export interface LabHub {
  readonly customers: FakeSubgraph;
  readonly lab: FakeSubgraph;
  readonly gateway: RunningGateway;
  /** How many requests the lab subgraph answered while `fn` ran. */
  labCalls(fn: () => Promise<unknown>): Promise<number>;
  stop(): Promise<void>;
}

export async function startLabHub(overrides: Partial<GatewayConfig> = {}): Promise<LabHub> {
  const customers = await startCustomersSubgraph();
  const lab = await startLab();
  const gateway = await startGateway(testConfig([customers, lab], overrides));
  return {
    customers,
    lab,
    gateway,
    labCalls: (fn) => callsDuring(lab, fn),
    async stop() {
      await gateway.stop();
      await Promise.allSettled([customers.stop(), lab.stop()]);
    },
  };
}
