-- Audit trail (issue 11 item 1, packages/core/src/audit.ts), in every store: every change the store
-- records (through the sync pipeline, or the few writes beside it) and every read of unmasked
-- contact PII, append-only and hash-chained per stream. A stream is (tenant, domain): each entry
-- holds the hash of the one before (`prev_hash`) and its own hash, sha256 of the previous hash and
-- the entry (`hub_audit_hash`), so editing, removing or reordering an entry breaks the chain where
-- it happened (`npm run audit:verify` finds the first broken link).
--
-- Values of fields classified PII or CONFIDENTIAL (and of unclassified ones) are never stored: their
-- before/after is a marker ("[PII]", "[CONFIDENTIAL]", "[UNCLASSIFIED]"), so entries outlive an
-- erasure without holding personal data.
CREATE TABLE "hub_audit" (
    "tenant_id"    TEXT NOT NULL,
    "domain"       TEXT NOT NULL,
    -- 1, 2, 3, ... per stream, in commit order (assigned under the stream head's row lock).
    "position"     BIGINT NOT NULL,
    -- When the store recorded it: the writing transaction's time under the stream lock, never
    -- decreasing along a stream (so the retention prefix is a prefix of positions too).
    "at"           TIMESTAMPTZ(3) NOT NULL,
    -- The customers the entry names (auditTrail's filter); must equal the entry's own `customerIds`.
    "customer_ids" TEXT[] NOT NULL,
    -- The entry itself, as the JSON text the writer made (packages/core/src/audit.ts `AuditEntry`):
    -- action, actor {type, id, role}, source, idempotencyKey, operation, customerIds, model, rowId,
    -- rowKey and changes ({"field": [before, after]} for writes, {"fields": [...]} for PII reads, the
    -- counts for an erasure). Hashed as stored, so no canonical form has to be rebuilt to verify it.
    "entry"        TEXT NOT NULL,
    "prev_hash"    TEXT NOT NULL,
    "hash"         TEXT NOT NULL,
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
    "at"        TIMESTAMPTZ(3) NOT NULL DEFAULT '-infinity',
    -- The last position retention archived and its hash: what the first stored entry links to.
    "archived_position" BIGINT NOT NULL DEFAULT 0,
    "archived_hash"     TEXT NOT NULL DEFAULT repeat('0', 64),
    CONSTRAINT "hub_audit_head_pkey" PRIMARY KEY ("tenant_id", "domain")
);

-- An entry's hash: sha256 (hex) of the previous entry's hash, the stream, the position, the time (ms
-- since the epoch) and the entry text, one per line. `npm run audit:verify` computes the same in Node.
CREATE FUNCTION "hub_audit_hash"(prev TEXT, tenant TEXT, domain TEXT, pos BIGINT, at TIMESTAMPTZ, entry TEXT)
RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
    prev || E'\n' || tenant || E'\n' || domain || E'\n' || pos::text || E'\n' ||
    ((extract(epoch FROM at) * 1000)::bigint)::text || E'\n' || entry, 'UTF8')), 'hex')
$$;

-- Appends `entries` (entry texts) to the stream (tenant, domain), with `customers` (per entry, its
-- customer ids joined by U+001F), chained to the stream's head, in one INSERT, and moves the head.
-- The head's row lock is held to COMMIT: a concurrent append to the same stream waits, then chains
-- after this one. Returns the stream's new last position.
-- Lock order: the store's outbox lock (the sync engine's OUTBOX_LOCK_KEY, 'hub_outbox' as digits)
-- first, then the head. Every writer of the store takes them in that order, whether it appends to the
-- outbox before or after its audit entries, so no two can deadlock; the sync engine already holds the
-- outbox lock here (taking it again costs nothing).
CREATE FUNCTION "hub_audit_append"(p_tenant TEXT, p_domain TEXT, p_entries TEXT[], p_customers TEXT[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
  n INT := coalesce(array_length(p_entries, 1), 0);
  head_position BIGINT;
  head_hash TEXT;
  head_at TIMESTAMPTZ;
  stamp TIMESTAMPTZ(3);
  stamp_ms TEXT;
  hashes TEXT[];
  e TEXT;
  i INT;
BEGIN
  IF n = 0 THEN
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
  -- Sequential passes only (FOREACH, multi-array unnest): a subscript into a parameter array of
  -- texts walks it from the start, which made a batch of 5,000 entries quadratic.
  hashes := array_fill(NULL::TEXT, ARRAY[n + 1]);
  hashes[1] := head_hash;
  i := 1;
  stamp_ms := ((extract(epoch FROM stamp) * 1000)::bigint)::text;
  -- "hub_audit_hash" written out: a function call per entry cost three times the hashing itself.
  FOREACH e IN ARRAY p_entries LOOP
    hashes[i + 1] := encode(sha256(convert_to(
      hashes[i] || E'\n' || p_tenant || E'\n' || p_domain || E'\n' || (head_position + i)::text || E'\n' ||
      stamp_ms || E'\n' || e, 'UTF8')), 'hex');
    i := i + 1;
  END LOOP;
  INSERT INTO "hub_audit" ("tenant_id", "domain", "position", "at", "customer_ids", "entry", "prev_hash", "hash")
  SELECT p_tenant, p_domain, head_position + x.i, stamp, coalesce(string_to_array(nullif(x.c, ''), E'\x1f'), '{}'),
         x.e, x.p, x.h
    FROM unnest(p_entries, p_customers, hashes[1:n], hashes[2:n + 1]) WITH ORDINALITY AS x(e, c, p, h, i);
  UPDATE "hub_audit_head" SET "position" = head_position + n, "hash" = hashes[n + 1], "at" = stamp
   WHERE "tenant_id" = p_tenant AND "domain" = p_domain;
  RETURN head_position + n;
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
