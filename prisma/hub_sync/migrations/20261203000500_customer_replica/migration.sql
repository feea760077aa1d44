-- Local customer replica (issue 8 item 5), applied to every domain store: each domain keeps the
-- tenant's customers (id, owner) and the partner grants, fed by the customers stream
-- (packages/core/src/replica.ts), so writes check customer existence and each subgraph resolves a
-- viewer's rows locally. Never secrets: a grant row has no key hash.

-- One row per customer the customers stream has told about. A deleted customer stays as a
-- tombstone (`deleted`), so a late replay of its creation cannot bring it back unnoticed.
CREATE TABLE "hub_customer_replica" (
    "tenant_id"   TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "owner_id"    TEXT,
    "deleted"     BOOLEAN NOT NULL DEFAULT false,
    -- Cursor (in the customers stream) of the last event applied to the row; '' from a snapshot.
    "cursor"      TEXT NOT NULL DEFAULT '',
    "updated_at"  TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_customer_replica_pkey" PRIMARY KEY ("tenant_id", "customer_id")
);
-- A book of business: the live customers of some owners, one index range per owner.
CREATE INDEX "hub_customer_replica_owner_idx" ON "hub_customer_replica" ("tenant_id", "owner_id", "customer_id")
    WHERE NOT "deleted";

-- One row per API key: the grant id is the key id. Integration keys (no customers) are kept too.
CREATE TABLE "hub_grant_replica" (
    "id"           TEXT NOT NULL,
    "tenant_id"    TEXT NOT NULL,
    "customer_ids" TEXT[] NOT NULL DEFAULT '{}',
    "fields"       TEXT[] NOT NULL DEFAULT '{}',
    "revoked"      BOOLEAN NOT NULL DEFAULT false,
    "cursor"       TEXT NOT NULL DEFAULT '',
    "updated_at"   TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_grant_replica_pkey" PRIMARY KEY ("id")
);

-- When this store's replica took its bootstrap snapshot of the customers store (one row, or none yet).
CREATE TABLE "hub_replica_state" (
    "source"      TEXT NOT NULL,
    "snapshot_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "customers"   INTEGER NOT NULL,
    "grants"      INTEGER NOT NULL,
    CONSTRAINT "hub_replica_state_pkey" PRIMARY KEY ("source")
);
