-- Issue 8 item 8 (commit -> recomputed health p99 < 100 ms at 2,000 events/s): "published" is a
-- position instead of a mark on every outbox row. The relay publishes in seq order, and seq order is
-- commit order (the engine's OUTBOX_LOCK_SQL is held to COMMIT), so an outbox row is published iff its
-- seq <= the relay's position. Marking each row rewrote it whole (its 1-2 KB payload and every index
-- entry, never HOT) and kept an index the relay read and every outbox INSERT maintained: together the
-- largest single cost of the event path (bench:events, pg_stat_statements).
--
-- One row per relay pass that moved the position: every outbox row with seq <= "seq" was on the bus
-- by "published_at". The position is max("seq") (packages/core/src/events/relay.ts `relayPosition`);
-- a row's publication time (integration health's publish lag) is the "published_at" of the first
-- pass whose "seq" reaches it. Retention prunes old passes with the outbox and always keeps the newest.
CREATE TABLE "hub_sync_relay_position" (
    "seq"          BIGINT NOT NULL,
    "published_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_sync_relay_position_pkey" PRIMARY KEY ("seq")
);

-- The marks carried over: the position is the highest seq below which everything was published
-- (rows marked above the first unmarked one are published again: the bus drops them by event id,
-- consumers' inboxes drop the rest), one pass per publication time below it.
INSERT INTO "hub_sync_relay_position" ("seq", "published_at")
SELECT max(o."seq"), o."published_at"
  FROM "hub_sync_outbox" o
 WHERE o."published_at" IS NOT NULL
   AND o."seq" < coalesce((SELECT min("seq") FROM "hub_sync_outbox" WHERE "published_at" IS NULL), 9223372036854775807)
 GROUP BY o."published_at";

DROP INDEX "hub_sync_outbox_unpublished_idx";
ALTER TABLE "hub_sync_outbox" DROP COLUMN "published_at";
