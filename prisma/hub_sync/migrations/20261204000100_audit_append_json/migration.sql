-- The audit append with its entries as one JSON array (packages/core/src/audit.ts `auditParams`):
-- the writer joins its entry texts into `[e1,e2,...]` and each entry is taken back as the exact text
-- it wrote (a `json` value keeps its input text, so `value::text` of an element is that substring),
-- hashed and stored as before. The `text[]` form made the driver escape every quote of every entry
-- into an array literal and the server unescape it (~16 µs of Node CPU per entry in bench:sync).
-- Same chaining and result as the `text[]` version of 20261203000800_audit_trail, which stays for
-- writers still sending arrays during a deploy. The outbox lock it takes first is the store's own
-- (the engine's OUTBOX_LOCK_SQL: class 'hubo', hash of the schema), no longer one key for the whole
-- database: stores sharing a database as schemas no longer queue behind each other's writers. Old
-- and new writers of one store lock differently, so restart a store's writers together.
CREATE FUNCTION "hub_audit_append"(p_tenant TEXT, p_domain TEXT, p_entries JSON, p_customers TEXT[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
  texts TEXT[];
  n INT;
  head_position BIGINT;
  head_hash TEXT;
  head_at TIMESTAMPTZ;
  stamp TIMESTAMPTZ(3);
  stamp_ms TEXT;
  hashes TEXT[];
  e TEXT;
  i INT;
BEGIN
  SELECT array_agg(x.value::text ORDER BY x.n) INTO texts FROM json_array_elements(p_entries) WITH ORDINALITY AS x(value, n);
  n := coalesce(array_length(texts, 1), 0);
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(1752523375, hashtext(current_schema()));
  SELECT h."position", h."hash", h."at" INTO head_position, head_hash, head_at
    FROM "hub_audit_head" h WHERE h."tenant_id" = p_tenant AND h."domain" = p_domain FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO "hub_audit_head" ("tenant_id", "domain") VALUES (p_tenant, p_domain) ON CONFLICT DO NOTHING;
    SELECT h."position", h."hash", h."at" INTO head_position, head_hash, head_at
      FROM "hub_audit_head" h WHERE h."tenant_id" = p_tenant AND h."domain" = p_domain FOR UPDATE;
  END IF;
  stamp := greatest(clock_timestamp(), head_at);
  hashes := array_fill(NULL::TEXT, ARRAY[n + 1]);
  hashes[1] := head_hash;
  i := 1;
  stamp_ms := ((extract(epoch FROM stamp) * 1000)::bigint)::text;
  FOREACH e IN ARRAY texts LOOP
    hashes[i + 1] := encode(sha256(convert_to(
      hashes[i] || E'\n' || p_tenant || E'\n' || p_domain || E'\n' || (head_position + i)::text || E'\n' ||
      stamp_ms || E'\n' || e, 'UTF8')), 'hex');
    i := i + 1;
  END LOOP;
  INSERT INTO "hub_audit" ("tenant_id", "domain", "position", "at", "customer_ids", "entry", "prev_hash", "hash")
  SELECT p_tenant, p_domain, head_position + x.i, stamp, coalesce(string_to_array(nullif(x.c, ''), E'\x1f'), '{}'),
         x.e, x.p, x.h
    FROM unnest(texts, p_customers, hashes[1:n], hashes[2:n + 1]) WITH ORDINALITY AS x(e, c, p, h, i);
  UPDATE "hub_audit_head" SET "position" = head_position + n, "hash" = hashes[n + 1], "at" = stamp
   WHERE "tenant_id" = p_tenant AND "domain" = p_domain;
  RETURN head_position + n;
END;
$$;
