/*
  Warnings:

  - A unique constraint covering the columns `[tenantId,id]` on the table `HealthSnapshot` will be added. If there are existing duplicate values, this will fail.

*/
-- CreateIndex
CREATE UNIQUE INDEX "HealthSnapshot_tenantId_id_key" ON "HealthSnapshot"("tenantId", "id");
