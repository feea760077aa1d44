-- CreateEnum
CREATE TYPE "JourneyStage" AS ENUM ('ONBOARDING', 'ADOPTION', 'EXPANSION', 'ADVOCACY', 'RENEWAL', 'AT_RISK');

-- CreateEnum
CREATE TYPE "CampaignType" AS ENUM ('RETENTION', 'EXPANSION', 'ONBOARDING', 'ADVOCACY', 'WINBACK');

-- CreateTable
CREATE TABLE "JourneyStageEntry" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "stage" "JourneyStage" NOT NULL,
    "entryDate" DATE NOT NULL,
    "exitDate" DATE,
    "current" BOOLEAN NOT NULL DEFAULT false,
    "completionRate" DOUBLE PRECISION,
    "timeToValueDays" INTEGER,
    "satisfactionScore" DOUBLE PRECISION,
    "featureAdoption" DOUBLE PRECISION,
    "engagementScore" DOUBLE PRECISION,
    "successMilestones" INTEGER,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "JourneyStageEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CustomerJourney" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "currentStage" "JourneyStage" NOT NULL,
    "stageSince" DATE NOT NULL,
    "targetStage" "JourneyStage",
    "predictedDate" DATE,
    "readinessScore" DOUBLE PRECISION,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CustomerJourney_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Campaign" (
    "tenantId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "campaignType" "CampaignType" NOT NULL,
    "targetSegment" TEXT NOT NULL,
    "startsAt" TIMESTAMPTZ(3),
    "endsAt" TIMESTAMPTZ(3),
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Campaign_pkey" PRIMARY KEY ("tenantId","id")
);

-- CreateTable
CREATE TABLE "CampaignPerformance" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "campaignId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "openRate" DOUBLE PRECISION NOT NULL,
    "clickRate" DOUBLE PRECISION NOT NULL,
    "conversionRate" DOUBLE PRECISION NOT NULL,
    "retentionImpact" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CampaignPerformance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CustomerSegment" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "segment" TEXT NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CustomerSegment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AttributionAnalysis" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "campaignContribution" DOUBLE PRECISION NOT NULL,
    "crossChannelImpact" DOUBLE PRECISION NOT NULL,
    "successCorrelation" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "AttributionAnalysis_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "JourneyStageEntry_tenantId_customerId_entryDate_idx" ON "JourneyStageEntry"("tenantId", "customerId", "entryDate");

-- CreateIndex
CREATE INDEX "JourneyStageEntry_tenantId_stage_current_idx" ON "JourneyStageEntry"("tenantId", "stage", "current");

-- CreateIndex
CREATE INDEX "CustomerJourney_tenantId_currentStage_customerId_idx" ON "CustomerJourney"("tenantId", "currentStage", "customerId");

-- CreateIndex
CREATE UNIQUE INDEX "CustomerJourney_tenantId_customerId_key" ON "CustomerJourney"("tenantId", "customerId");

-- CreateIndex
CREATE INDEX "Campaign_tenantId_campaignType_idx" ON "Campaign"("tenantId", "campaignType");

-- CreateIndex
CREATE INDEX "Campaign_tenantId_targetSegment_idx" ON "Campaign"("tenantId", "targetSegment");

-- CreateIndex
CREATE INDEX "CampaignPerformance_tenantId_customerId_updatedAt_idx" ON "CampaignPerformance"("tenantId", "customerId", "updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "CampaignPerformance_tenantId_campaignId_customerId_key" ON "CampaignPerformance"("tenantId", "campaignId", "customerId");

-- CreateIndex
CREATE INDEX "CustomerSegment_tenantId_segment_idx" ON "CustomerSegment"("tenantId", "segment");

-- CreateIndex
CREATE UNIQUE INDEX "CustomerSegment_tenantId_customerId_key" ON "CustomerSegment"("tenantId", "customerId");

-- CreateIndex
CREATE UNIQUE INDEX "AttributionAnalysis_tenantId_customerId_key" ON "AttributionAnalysis"("tenantId", "customerId");

-- AddForeignKey
ALTER TABLE "CampaignPerformance" ADD CONSTRAINT "CampaignPerformance_tenantId_campaignId_fkey" FOREIGN KEY ("tenantId", "campaignId") REFERENCES "Campaign"("tenantId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
