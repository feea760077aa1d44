-- Change-event consumers (issue 8), applied to every domain store like the sync bookkeeping. A
-- consumer running in this store's process records what it has applied here, in the same
-- transaction as its own writes: that is what makes a redelivered event change nothing.

-- One row per (consumer, event) applied or dead-lettered: the inbox. Present = done, skip.
CREATE TABLE "hub_event_inbox" (
    "consumer"     TEXT NOT NULL,
    "event_id"     UUID NOT NULL,
    "stream"       TEXT NOT NULL,
    "cursor"       TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_event_inbox_pkey" PRIMARY KEY ("consumer", "event_id")
);
CREATE INDEX "hub_event_inbox_processed_idx" ON "hub_event_inbox" ("processed_at");

-- Each consumer's position per stream (the cursor of the last event it finished), written with
-- its inbox row; the embedded bus resumes from it, and sync status reads lag from it.
CREATE TABLE "hub_event_cursor" (
    "consumer"   TEXT NOT NULL,
    "stream"     TEXT NOT NULL,
    "bus"        TEXT NOT NULL,
    "cursor"     TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_event_cursor_pkey" PRIMARY KEY ("consumer", "stream", "bus")
);

-- Events a consumer gave up on (a PermanentEventError, or still failing after maxAttempts), with
-- the whole envelope so an admin can replay one without the log still holding it.
CREATE TABLE "hub_event_dead_letter" (
    "id"             UUID NOT NULL,
    "consumer"       TEXT NOT NULL,
    "event_id"       UUID NOT NULL,
    "stream"         TEXT NOT NULL,
    "tenant_id"      TEXT NOT NULL,
    "type"           TEXT NOT NULL,
    "envelope"       JSONB NOT NULL,
    "reason"         TEXT NOT NULL,
    "attempts"       INTEGER NOT NULL,
    "first_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "last_failed_at"  TIMESTAMPTZ(3) NOT NULL,
    "replayed_at"    TIMESTAMPTZ(3),
    "replay_outcome" TEXT,
    CONSTRAINT "hub_event_dead_letter_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "hub_event_dead_letter_tenant_idx" ON "hub_event_dead_letter" ("tenant_id", "id");
CREATE UNIQUE INDEX "hub_event_dead_letter_waiting_key" ON "hub_event_dead_letter" ("consumer", "event_id")
    WHERE "replayed_at" IS NULL;

-- The envelope's schema version of the payload (1 unless a kind's payload changed incompatibly).
ALTER TABLE "hub_sync_outbox" ADD COLUMN "schema_version" INTEGER NOT NULL DEFAULT 1;
