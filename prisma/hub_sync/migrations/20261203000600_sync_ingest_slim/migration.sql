-- Issue 7 item 8 (ingest throughput). The outbox payload and the idempotency answer are written
-- once per event and only ever read whole (the relay publishes the payload as it is; a DUPLICATE
-- answers the stored result): `json` keeps the text as sent, where `jsonb` parsed and rebuilt it
-- on every insert — a third of the outbox statement, the largest of a batch. `->>` still works.
ALTER TABLE "hub_sync_outbox" ALTER COLUMN "payload" TYPE JSON USING "payload"::json;
ALTER TABLE "hub_sync_idempotency" ALTER COLUMN "result" TYPE JSON USING "result"::json;

-- Quality is kept with the idempotency record of an accepted event (one row per event instead of
-- two): the record gains the score's dimensions, and the window index the quality table had.
-- Rejected events get no idempotency record (their key stays free for a fixed event), so their
-- quality rows stay in a table of their own, with every row written before this migration.
-- `hub_sync_quality` becomes a view of both with the former table's columns: its readers
-- (dataQuality, the integration-health report) are unchanged.
ALTER TABLE "hub_sync_idempotency"
    ADD COLUMN "customer_id"  TEXT,
    ADD COLUMN "completeness" DOUBLE PRECISION,
    ADD COLUMN "validity"     DOUBLE PRECISION,
    ADD COLUMN "consistency"  DOUBLE PRECISION,
    ADD COLUMN "timeliness"   DOUBLE PRECISION,
    ADD COLUMN "score"        DOUBLE PRECISION;
CREATE INDEX "hub_sync_idempotency_window_idx" ON "hub_sync_idempotency" ("tenant_id", "created_at");

ALTER TABLE "hub_sync_quality" RENAME TO "hub_sync_quality_rejected";
ALTER INDEX "hub_sync_quality_window_idx" RENAME TO "hub_sync_quality_rejected_window_idx";
CREATE VIEW "hub_sync_quality" AS
    SELECT "tenant_id", "key", "kind", "customer_id", "completeness", "validity", "consistency", "timeliness",
           "score", "rejected", "received_at"
      FROM "hub_sync_quality_rejected"
    UNION ALL
    SELECT "tenant_id", "key", "kind", "customer_id", "completeness", "validity", "consistency", "timeliness",
           "score", false AS "rejected", "created_at" AS "received_at"
      FROM "hub_sync_idempotency"
     WHERE "completeness" IS NOT NULL;
