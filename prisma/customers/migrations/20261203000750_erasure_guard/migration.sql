-- An erased customer never comes back (issue 11 item 4): whatever writes a Customer row — a sync
-- event replayed from the log, an import, a reconciliation repair, a hand-written INSERT — the store
-- refuses an id recorded in "hub_erased_customer" (the bookkeeping table of packages/core/src/erasure.ts;
-- created by the hub_sync migrations, which run after the domain's own: plpgsql resolves it when the
-- trigger fires). The engine reports the check violation as that event's BAD_USER_INPUT.
CREATE FUNCTION "hub_refuse_erased_customer"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "hub_erased_customer" WHERE "tenant_id" = NEW."tenantId" AND "customer_id" = NEW."id") THEN
    RAISE EXCEPTION 'customer % was erased', NEW."id"
      USING ERRCODE = 'check_violation', TABLE = 'Customer', COLUMN = 'id', CONSTRAINT = 'customer_erased';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Customer_refuse_erased" BEFORE INSERT OR UPDATE OF "id" ON "Customer"
    FOR EACH ROW EXECUTE FUNCTION "hub_refuse_erased_customer"();
