-- Right to erasure (issue 11 item 4, packages/core/src/erasure.ts), in every store: one row per
-- customer this store erased, with what it did. It is the store's tombstone: the customers store's
-- trigger (customers migration erasure_guard) refuses a Customer row of an erased id, and every
-- other store's replica marks the customer deleted in the same transaction.
CREATE TABLE "hub_erased_customer" (
    "tenant_id"    TEXT NOT NULL,
    "customer_id"  TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "erased_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "report"       JSON NOT NULL,
    CONSTRAINT "hub_erased_customer_pkey" PRIMARY KEY ("tenant_id", "customer_id")
);

-- A refused event naming an erased customer (an integration still sending it) is kept as a dead
-- letter for the admin to see, but without its values: the store never holds that customer's data
-- again. Every domain's payload names its customer as `customerId` (at some depth of the event).
CREATE FUNCTION "hub_dead_letter_without_erased"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM "hub_erased_customer"
     WHERE "tenant_id" = NEW."tenant_id"
       AND "customer_id" IN (SELECT v #>> '{}' FROM jsonb_path_query(NEW."payload", 'strict $.**.customerId') AS v)
  ) THEN
    NEW."payload" := '{"erased": true}'::jsonb;
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "hub_sync_dead_letter_without_erased" BEFORE INSERT OR UPDATE OF "payload" ON "hub_sync_dead_letter"
    FOR EACH ROW EXECUTE FUNCTION "hub_dead_letter_without_erased"();
