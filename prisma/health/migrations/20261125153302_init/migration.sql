-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('CURRENT', 'LATE', 'OVERDUE', 'DELINQUENT');

-- CreateTable
CREATE TABLE "HealthScore" (
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "usageScore" INTEGER NOT NULL,
    "engagementScore" INTEGER NOT NULL,
    "supportSatisfaction" INTEGER NOT NULL,
    "paymentStatus" "PaymentStatus" NOT NULL,
    "trend30DayChange" INTEGER NOT NULL DEFAULT 0,
    "riskIndicators" TEXT[],
    "improvementAreas" TEXT[],
    "marketingCampaignTriggers" TEXT[],
    "marketingSegment" TEXT,
    "salesExpansionOpportunities" TEXT[],
    "salesRenewalConfidence" DOUBLE PRECISION,
    "productFeatureAdoptionFocus" TEXT[],
    "productBetaInterests" TEXT[],
    "syncTimestamp" TIMESTAMPTZ(3) NOT NULL,
    "dataQualityScore" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthScore_pkey" PRIMARY KEY ("tenantId","customerId")
);

-- CreateTable
CREATE TABLE "HealthSnapshot" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "usageScore" INTEGER NOT NULL,
    "engagementScore" INTEGER NOT NULL,
    "supportSatisfaction" INTEGER NOT NULL,
    "paymentStatus" "PaymentStatus" NOT NULL,
    "recordedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "HealthScore_tenantId_score_idx" ON "HealthScore"("tenantId", "score");

-- CreateIndex
CREATE INDEX "HealthScore_tenantId_paymentStatus_idx" ON "HealthScore"("tenantId", "paymentStatus");

-- CreateIndex
CREATE INDEX "HealthSnapshot_tenantId_customerId_recordedAt_idx" ON "HealthSnapshot"("tenantId", "customerId", "recordedAt");
