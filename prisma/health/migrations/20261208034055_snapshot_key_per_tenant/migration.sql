-- The snapshot's key is (tenantId, id), the sync engine's natural key, instead of id alone: two
-- tenants' customers of the same id recorded in the same millisecond have snapshots of the same id,
-- and the second was refused. The unique index the engine's key already had becomes the primary
-- key (no index build), and each snapshot insert maintains one unique index less.
ALTER TABLE "HealthSnapshot" DROP CONSTRAINT "HealthSnapshot_pkey";
ALTER TABLE "HealthSnapshot" ADD CONSTRAINT "HealthSnapshot_pkey" PRIMARY KEY USING INDEX "HealthSnapshot_tenantId_id_key";
