-- CreateTable
CREATE TABLE "HealthCampaignTrigger" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "segment" TEXT,
    "campaignTriggers" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "riskIndicators" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "healthScore" INTEGER NOT NULL,
    "healthEventId" TEXT NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthCampaignTrigger_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "HealthCampaignTrigger_tenantId_segment_idx" ON "HealthCampaignTrigger"("tenantId", "segment");

-- CreateIndex
CREATE UNIQUE INDEX "HealthCampaignTrigger_tenantId_customerId_key" ON "HealthCampaignTrigger"("tenantId", "customerId");
