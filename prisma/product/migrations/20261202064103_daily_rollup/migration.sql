-- CreateTable
CREATE TABLE "UsageDailyRollup" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "feature" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "category" "FeatureCategory" NOT NULL,
    "periodUsageCount" INTEGER NOT NULL,
    "usagePerDay" DOUBLE PRECISION NOT NULL,
    "adoptionScore" DOUBLE PRECISION NOT NULL,
    "successCorrelation" DOUBLE PRECISION NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UsageDailyRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UsageDailyRollup_tenantId_day_idx" ON "UsageDailyRollup"("tenantId", "day");

-- CreateIndex
CREATE UNIQUE INDEX "UsageDailyRollup_tenantId_customerId_feature_day_key" ON "UsageDailyRollup"("tenantId", "customerId", "feature", "day");
