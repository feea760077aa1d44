-- CreateTable
CREATE TABLE "HealthSignal" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "healthScore" INTEGER NOT NULL,
    "expansionOpportunities" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "renewalConfidence" DOUBLE PRECISION,
    "riskIndicators" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "healthEventId" TEXT NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthSignal_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "HealthSignal_tenantId_customerId_key" ON "HealthSignal"("tenantId", "customerId");
