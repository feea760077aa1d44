-- Sync pipeline bookkeeping (issue 7), applied to every domain store beside its own migrations and
-- recorded in _prisma_migrations as `hub_sync/<name>`. The tables live in the domain's own schema
-- (search_path), so one database holding all seven stores keeps them apart; hence the prefix.

-- One row per idempotency key: the first outcome and what the caller was answered.
CREATE TABLE "hub_sync_idempotency" (
    "tenant_id"  TEXT NOT NULL,
    "key"        TEXT NOT NULL,
    "kind"       TEXT NOT NULL,
    "outcome"    TEXT NOT NULL,
    "result"     JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_sync_idempotency_pkey" PRIMARY KEY ("tenant_id", "key")
);

-- Per domain row: the source and source time of each synced field, {"field": {"s": source, "t": iso}}.
CREATE TABLE "hub_sync_row_source" (
    "tenant_id"   TEXT NOT NULL,
    "model"       TEXT NOT NULL,
    "row_key"     TEXT NOT NULL,
    "customer_id" TEXT,
    "sources"     JSONB NOT NULL DEFAULT '{}',
    "updated_at"  TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_sync_row_source_pkey" PRIMARY KEY ("tenant_id", "model", "row_key")
);

-- Every field conflict the rule decided, with both sides. Ids are UUIDv7: id order is decision order.
CREATE TABLE "hub_sync_conflict" (
    "id"              UUID NOT NULL,
    "tenant_id"       TEXT NOT NULL,
    "model"           TEXT NOT NULL,
    "row_key"         TEXT NOT NULL,
    "customer_id"     TEXT,
    "field"           TEXT NOT NULL,
    "stored_value"    JSONB,
    "stored_source"   TEXT,
    "stored_at"       TIMESTAMPTZ(3),
    "incoming_value"  JSONB,
    "incoming_source" TEXT NOT NULL,
    "incoming_at"     TIMESTAMPTZ(3) NOT NULL,
    "rule"            TEXT NOT NULL,
    "winner"          TEXT NOT NULL,
    "decided_at"      TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "resolved_by"     TEXT,
    "resolved_at"     TIMESTAMPTZ(3),
    "idempotency_key" TEXT NOT NULL,
    CONSTRAINT "hub_sync_conflict_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "hub_sync_conflict_tenant_id_idx" ON "hub_sync_conflict" ("tenant_id", "id");
CREATE INDEX "hub_sync_conflict_row_idx" ON "hub_sync_conflict" ("tenant_id", "model", "row_key");

-- One quality record per accepted or rejected event (duplicates and refusals are not scored).
CREATE TABLE "hub_sync_quality" (
    "id"           BIGSERIAL NOT NULL,
    "tenant_id"    TEXT NOT NULL,
    "key"          TEXT NOT NULL,
    "kind"         TEXT NOT NULL,
    "customer_id"  TEXT,
    "completeness" DOUBLE PRECISION NOT NULL,
    "validity"     DOUBLE PRECISION NOT NULL,
    "consistency"  DOUBLE PRECISION,
    "timeliness"   DOUBLE PRECISION,
    "score"        DOUBLE PRECISION,
    "rejected"     BOOLEAN NOT NULL,
    "received_at"  TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_sync_quality_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "hub_sync_quality_window_idx" ON "hub_sync_quality" ("tenant_id", "received_at");

-- Refused events kept for an admin to fix and replay; at most one waiting letter per key.
CREATE TABLE "hub_sync_dead_letter" (
    "id"             UUID NOT NULL,
    "tenant_id"      TEXT NOT NULL,
    "kind"           TEXT NOT NULL,
    "key"            TEXT NOT NULL,
    "source"         TEXT NOT NULL,
    "payload"        JSONB NOT NULL,
    "code"           TEXT NOT NULL,
    "reason"         TEXT NOT NULL,
    "field"          TEXT,
    "line"           INTEGER,
    "received_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "replayed_at"    TIMESTAMPTZ(3),
    "replay_outcome" TEXT,
    CONSTRAINT "hub_sync_dead_letter_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "hub_sync_dead_letter_tenant_id_idx" ON "hub_sync_dead_letter" ("tenant_id", "id");
CREATE UNIQUE INDEX "hub_sync_dead_letter_waiting_key" ON "hub_sync_dead_letter" ("tenant_id", "key")
    WHERE "replayed_at" IS NULL;

-- Transactional outbox: one event per sync event that changed something; issue 8 relays it.
CREATE TABLE "hub_sync_outbox" (
    "seq"          BIGSERIAL NOT NULL,
    "id"           UUID NOT NULL,
    "tenant_id"    TEXT NOT NULL,
    "customer_id"  TEXT,
    "type"         TEXT NOT NULL,
    "source"       TEXT NOT NULL,
    "payload"      JSONB NOT NULL,
    "occurred_at"  TIMESTAMPTZ(3) NOT NULL,
    "committed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "published_at" TIMESTAMPTZ(3),
    CONSTRAINT "hub_sync_outbox_pkey" PRIMARY KEY ("seq"),
    CONSTRAINT "hub_sync_outbox_id_key" UNIQUE ("id")
);
CREATE INDEX "hub_sync_outbox_unpublished_idx" ON "hub_sync_outbox" ("published_at" ASC NULLS FIRST, "seq");
