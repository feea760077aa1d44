-- CreateTable
CREATE TABLE "HealthInputRow" (
    "tenantId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "rowKey" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "values" JSONB NOT NULL,
    "fieldTimes" JSONB NOT NULL,
    "sourceAt" TIMESTAMPTZ(3) NOT NULL,
    "eventId" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthInputRow_pkey" PRIMARY KEY ("tenantId","model","rowKey")
);

-- CreateTable
CREATE TABLE "HealthOverride" (
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "overriddenBy" TEXT NOT NULL,
    "overriddenAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3),
    "clearedAt" TIMESTAMPTZ(3),
    "clearedBy" TEXT,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthOverride_pkey" PRIMARY KEY ("tenantId","customerId")
);

-- CreateIndex
CREATE INDEX "HealthInputRow_tenantId_customerId_idx" ON "HealthInputRow"("tenantId", "customerId");
