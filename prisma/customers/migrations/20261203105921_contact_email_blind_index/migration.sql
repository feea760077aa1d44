/*
  Warnings:

  - A unique constraint covering the columns `[tenantId,customerId,emailBlindIndex]` on the table `Contact` will be added. If there are existing duplicate values, this will fail.

*/
-- DropIndex
DROP INDEX "Contact_tenantId_customerId_email_key";

-- AlterTable
ALTER TABLE "Contact" ADD COLUMN     "emailBlindIndex" TEXT;

-- CreateIndex
CREATE INDEX "Contact_tenantId_emailBlindIndex_idx" ON "Contact"("tenantId", "emailBlindIndex");

-- CreateIndex
CREATE UNIQUE INDEX "Contact_tenantId_customerId_emailBlindIndex_key" ON "Contact"("tenantId", "customerId", "emailBlindIndex");
