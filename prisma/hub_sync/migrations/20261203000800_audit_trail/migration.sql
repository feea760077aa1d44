-- Audit trail (issue 11 item 1, packages/core/src/audit.ts), in every store: every change the store
-- records (through the sync pipeline, or the few writes beside it) and every read of unmasked
-- contact PII, append-only and hash-chained per stream. A stream is (tenant, domain): each entry
-- holds the hash of the one before (`prev_hash`) and its own hash, sha256 of the previous hash and
-- the entry's canonical text (`hub_audit_canonical`), so editing, removing or reordering an entry
-- breaks the chain where it happened (`npm run audit:verify` finds the first broken link).
--
-- Values of fields classified PII or CONFIDENTIAL (and of unclassified ones) are never stored: their
-- before/after is a marker ("[PII]", "[CONFIDENTIAL]", "[UNCLASSIFIED]"), so entries outlive an
-- erasure without holding personal data.
CREATE TABLE "hub_audit" (
    "tenant_id"       TEXT NOT NULL,
    "domain"          TEXT NOT NULL,
    -- 1, 2, 3, ... per stream, in commit order (assigned under the stream head's row lock).
    "position"        BIGINT NOT NULL,
    -- When the store recorded it: the writing transaction's time under the stream lock, never
    -- decreasing along a stream (so the retention prefix is a prefix of positions too).
    "at"              TIMESTAMPTZ(6) NOT NULL,
    -- create | update | delete (a row), erase (a customer's erasure), pii_read (unmasked contact PII)
    "action"          TEXT NOT NULL,
    -- user | partner | integration | service | system | consumer | job
    "actor_type"      TEXT NOT NULL,
    "actor_id"        TEXT NOT NULL,
    "actor_role"      TEXT,
    -- The source system the change came from (salesforce, stripe, admin:u1, job:finance-rollup).
    "source"          TEXT,
    "idempotency_key" TEXT,
    -- The sync kind or mutation (`contact_record_sync`, `delete_customer`), or the read's operation name.
    "operation"       TEXT,
    "customer_ids"    TEXT[] NOT NULL DEFAULT '{}',
    "model"           TEXT,
    "row_id"          TEXT,
    -- The row's natural key (personal key columns marked like values).
    "row_key"         JSONB,
    -- writes: {"field": [before, after]} (before null for a created row); pii_read: {"fields": [...]};
    -- erase: the domain's report counts.
    "changes"         JSONB NOT NULL DEFAULT '{}',
    "prev_hash"       TEXT NOT NULL,
    "hash"            TEXT NOT NULL,
    CONSTRAINT "hub_audit_pkey" PRIMARY KEY ("tenant_id", "domain", "position")
);
-- auditTrail(customerId): the entries naming a customer.
CREATE INDEX "hub_audit_customer_idx" ON "hub_audit" USING GIN ("customer_ids");
CREATE INDEX "hub_audit_at_idx" ON "hub_audit" ("tenant_id", "at");

-- The head of every stream: its last position and hash. Appends lock this row to the end of their
-- transaction, so concurrent writers (several processes on one store) chain one after another;
-- verification compares it with the last entry (a removed tail shows).
CREATE TABLE "hub_audit_head" (
    "tenant_id" TEXT NOT NULL,
    "domain"    TEXT NOT NULL,
    "position"  BIGINT NOT NULL DEFAULT 0,
    "hash"      TEXT NOT NULL DEFAULT repeat('0', 64),
    "at"        TIMESTAMPTZ(6) NOT NULL DEFAULT '-infinity',
    -- The first position still stored and the hash before it, once retention archived older ones.
    "archived_position" BIGINT NOT NULL DEFAULT 0,
    "archived_hash"     TEXT NOT NULL DEFAULT repeat('0', 64),
    CONSTRAINT "hub_audit_head_pkey" PRIMARY KEY ("tenant_id", "domain")
);

-- The text an entry's hash covers: every column but the hashes, as one JSON array (jsonb's text form
-- is canonical: the same values always print the same), the time in UTC with microseconds.
CREATE FUNCTION "hub_audit_canonical"(e "hub_audit") RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_array(
    e."tenant_id", e."domain", e."position",
    to_char(e."at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e."action", e."actor_type", e."actor_id", e."actor_role", e."source", e."idempotency_key", e."operation",
    to_jsonb(e."customer_ids"), e."model", e."row_id", e."row_key", e."changes"
  )::text
$$;

CREATE FUNCTION "hub_audit_hash"(prev TEXT, e "hub_audit") RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(prev || "hub_audit_canonical"(e), 'UTF8')), 'hex')
$$;

-- Appends `entries` (a JSON array of hub_audit columns; tenant, domain, position, time and hashes are
-- set here) to the stream (tenant, domain) in one INSERT, chained to the stream's head, and moves the
-- head. The head's row lock is held to COMMIT: a concurrent append to the same stream waits, then
-- chains after this one. Returns the stream's new last position.
-- Lock order: the store's outbox lock (the sync engine's OUTBOX_LOCK_KEY, 'hub_outbox' as digits)
-- first, then the head. Every writer of the store takes them in that order, whether it appends to the
-- outbox before or after its audit entries, so no two can deadlock; the sync engine already holds the
-- outbox lock here (taking it again costs nothing).
CREATE FUNCTION "hub_audit_append"(p_tenant TEXT, p_domain TEXT, p_entries JSONB) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
  head_position BIGINT;
  head_hash TEXT;
  head_at TIMESTAMPTZ;
  stamp TIMESTAMPTZ;
  e "hub_audit";
  chained "hub_audit"[] := '{}';
BEGIN
  IF p_entries IS NULL OR jsonb_array_length(p_entries) = 0 THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(29402462946293108);
  SELECT h."position", h."hash", h."at" INTO head_position, head_hash, head_at
    FROM "hub_audit_head" h WHERE h."tenant_id" = p_tenant AND h."domain" = p_domain FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO "hub_audit_head" ("tenant_id", "domain") VALUES (p_tenant, p_domain) ON CONFLICT DO NOTHING;
    SELECT h."position", h."hash", h."at" INTO head_position, head_hash, head_at
      FROM "hub_audit_head" h WHERE h."tenant_id" = p_tenant AND h."domain" = p_domain FOR UPDATE;
  END IF;
  stamp := greatest(clock_timestamp(), head_at);
  FOR e IN
    SELECT (jsonb_populate_record(NULL::"hub_audit", x.v)).* FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS x(v, i)
     ORDER BY x.i
  LOOP
    head_position := head_position + 1;
    e."tenant_id" := p_tenant;
    e."domain" := p_domain;
    e."position" := head_position;
    e."at" := stamp;
    e."customer_ids" := coalesce(e."customer_ids", '{}');
    e."changes" := coalesce(e."changes", '{}'::jsonb);
    e."prev_hash" := head_hash;
    e."hash" := "hub_audit_hash"(head_hash, e);
    head_hash := e."hash";
    chained := chained || e;
  END LOOP;
  INSERT INTO "hub_audit" SELECT * FROM unnest(chained);
  UPDATE "hub_audit_head" SET "position" = head_position, "hash" = head_hash, "at" = stamp
   WHERE "tenant_id" = p_tenant AND "domain" = p_domain;
  RETURN head_position;
END;
$$;

-- Append-only: no UPDATE, no TRUNCATE, and DELETE only of entries older than the audit retention
-- (7 years, packages/core/src/retention.ts), which is how the retention job archives a stream's
-- oldest segment: it exports the entries to NDJSON first, and the head keeps the link to what
-- remains (`archived_position`, `archived_hash`: the last entry archived).
CREATE FUNCTION "hub_audit_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD."at" < now() - interval '2555 days' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'hub_audit is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END;
$$;

CREATE FUNCTION "hub_audit_archived"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "hub_audit_head" SET "archived_position" = OLD."position", "archived_hash" = OLD."hash"
   WHERE "tenant_id" = OLD."tenant_id" AND "domain" = OLD."domain" AND "archived_position" < OLD."position";
  RETURN OLD;
END;
$$;

CREATE TRIGGER "hub_audit_append_only" BEFORE UPDATE OR DELETE ON "hub_audit"
    FOR EACH ROW EXECUTE FUNCTION "hub_audit_guard"();
CREATE TRIGGER "hub_audit_no_truncate" BEFORE TRUNCATE ON "hub_audit"
    FOR EACH STATEMENT EXECUTE FUNCTION "hub_audit_guard"();
CREATE TRIGGER "hub_audit_archive_link" AFTER DELETE ON "hub_audit"
    FOR EACH ROW EXECUTE FUNCTION "hub_audit_archived"();
