-- CreateEnum
CREATE TYPE "FeatureCategory" AS ENUM ('CORE', 'ADVANCED');

-- CreateEnum
CREATE TYPE "MaturityLevel" AS ENUM ('BEGINNER', 'INTERMEDIATE', 'ADVANCED', 'EXPERT');

-- CreateTable
CREATE TABLE "FeatureUsage" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "feature" TEXT NOT NULL,
    "category" "FeatureCategory" NOT NULL,
    "usageCount" INTEGER NOT NULL,
    "adoptionScore" DOUBLE PRECISION NOT NULL,
    "successCorrelation" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FeatureUsage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AdoptionMetrics" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "periodStart" DATE NOT NULL,
    "periodEnd" DATE NOT NULL,
    "overallAdoptionRate" DOUBLE PRECISION NOT NULL,
    "featureDiscoveryRate" DOUBLE PRECISION NOT NULL,
    "activationTimeDays" INTEGER NOT NULL,
    "maturityLevel" "MaturityLevel" NOT NULL,
    "highUsageHealth" DOUBLE PRECISION NOT NULL,
    "featureCompleteness" DOUBLE PRECISION NOT NULL,
    "roiAchievement" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "AdoptionMetrics_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FeatureUsage_tenantId_feature_periodStart_idx" ON "FeatureUsage"("tenantId", "feature", "periodStart");

-- CreateIndex
CREATE UNIQUE INDEX "FeatureUsage_tenantId_customerId_periodStart_feature_key" ON "FeatureUsage"("tenantId", "customerId", "periodStart", "feature");

-- CreateIndex
CREATE INDEX "AdoptionMetrics_tenantId_maturityLevel_idx" ON "AdoptionMetrics"("tenantId", "maturityLevel");

-- CreateIndex
CREATE UNIQUE INDEX "AdoptionMetrics_tenantId_customerId_periodStart_key" ON "AdoptionMetrics"("tenantId", "customerId", "periodStart");
