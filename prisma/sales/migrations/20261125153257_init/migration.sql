-- CreateEnum
CREATE TYPE "OpportunityType" AS ENUM ('UPSELL', 'CROSS_SELL', 'ADD_ON', 'RENEWAL_UPLIFT');

-- CreateEnum
CREATE TYPE "OpportunityStage" AS ENUM ('IDENTIFIED', 'QUALIFIED', 'PROPOSAL', 'NEGOTIATION', 'CLOSED_WON', 'CLOSED_LOST');

-- CreateTable
CREATE TABLE "ExpansionOpportunity" (
    "tenantId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "type" "OpportunityType" NOT NULL,
    "value" DECIMAL(14,2) NOT NULL,
    "probability" DOUBLE PRECISION NOT NULL,
    "timeline" TEXT NOT NULL,
    "stage" "OpportunityStage" NOT NULL DEFAULT 'IDENTIFIED',
    "successFactors" TEXT[],
    "csHealthScore" INTEGER,
    "csSuccessEvidence" TEXT[],
    "csRiskMitigation" TEXT[],
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ExpansionOpportunity_pkey" PRIMARY KEY ("tenantId","id")
);

-- CreateTable
CREATE TABLE "RenewalForecast" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "ownerId" TEXT,
    "renewalProbability" DOUBLE PRECISION NOT NULL,
    "contractValue" DECIMAL(14,2) NOT NULL,
    "expansionPotential" DECIMAL(14,2) NOT NULL,
    "renewalDate" DATE NOT NULL,
    "riskFactors" TEXT[],
    "successMitigation" TEXT[],
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RenewalForecast_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ExpansionOpportunity_tenantId_customerId_idx" ON "ExpansionOpportunity"("tenantId", "customerId");

-- CreateIndex
CREATE INDEX "ExpansionOpportunity_tenantId_ownerId_idx" ON "ExpansionOpportunity"("tenantId", "ownerId");

-- CreateIndex
CREATE INDEX "ExpansionOpportunity_tenantId_stage_idx" ON "ExpansionOpportunity"("tenantId", "stage");

-- CreateIndex
CREATE INDEX "ExpansionOpportunity_tenantId_createdAt_idx" ON "ExpansionOpportunity"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "RenewalForecast_tenantId_renewalDate_idx" ON "RenewalForecast"("tenantId", "renewalDate");

-- CreateIndex
CREATE INDEX "RenewalForecast_tenantId_ownerId_idx" ON "RenewalForecast"("tenantId", "ownerId");

-- CreateIndex
CREATE UNIQUE INDEX "RenewalForecast_tenantId_customerId_key" ON "RenewalForecast"("tenantId", "customerId");
