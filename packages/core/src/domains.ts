/** The seven business domains, each a store and a subgraph, with their default ports (gateway: 4000). */
export const SUBGRAPH_PORTS = {
  customers: 4001,
  marketing: 4002,
  sales: 4003,
  product: 4004,
  finance: 4005,
  support: 4006,
  health: 4007,
} as const;
export type Domain = keyof typeof SUBGRAPH_PORTS;
export const DOMAINS = Object.keys(SUBGRAPH_PORTS) as Domain[];
