/*
  Warnings:

  - A unique constraint covering the columns `[tenantId,customerId,stage,entryDate]` on the table `JourneyStageEntry` will be added. If there are existing duplicate values, this will fail.

*/
-- AlterTable
ALTER TABLE "Campaign" ALTER COLUMN "name" DROP NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "JourneyStageEntry_tenantId_customerId_stage_entryDate_key" ON "JourneyStageEntry"("tenantId", "customerId", "stage", "entryDate");
