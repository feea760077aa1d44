/**
 * Parent value of `Customer` in this subgraph: the gateway hands over only the key, and every
 * field this subgraph adds is loaded from it through a DataLoader.
 */
export interface CustomerRef {
  id: string;
}
