/** A reference to a customer: the health subgraph holds no customer row, only the key. */
export interface CustomerRef {
  id: string;
}
