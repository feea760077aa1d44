-- Envelope encryption at rest (issue 11 item 3, packages/core/src/crypto): the per-tenant keys of
-- every store, each wrapped (AES-256-GCM) by a master key the store never holds. `purpose` data:
-- encrypts PII columns (the newest one not retired writes, every one of the tenant reads); index:
-- the HMAC key of the blind indexes (equality lookups by email), not rotated with the data keys.
-- `master_key_id` names the master key that wrapped it, so a master key rotation knows what to
-- re-wrap; `retired_at` is when a key stopped writing (rotate-keys), it stays readable.
CREATE TABLE "hub_data_key" (
    "id"            TEXT NOT NULL,
    "tenant_id"     TEXT NOT NULL,
    "purpose"       TEXT NOT NULL,
    "wrapped_key"   TEXT NOT NULL,
    "master_key_id" TEXT NOT NULL,
    "created_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "retired_at"    TIMESTAMPTZ(3),
    CONSTRAINT "hub_data_key_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "hub_data_key_purpose_check" CHECK ("purpose" IN ('data', 'index'))
);
-- One writing key per tenant and purpose: two processes creating a tenant's first key race on it.
CREATE UNIQUE INDEX "hub_data_key_active_key" ON "hub_data_key" ("tenant_id", "purpose") WHERE "retired_at" IS NULL;
CREATE INDEX "hub_data_key_tenant_idx" ON "hub_data_key" ("tenant_id", "created_at");
