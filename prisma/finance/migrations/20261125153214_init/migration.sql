-- CreateEnum
CREATE TYPE "MilestoneAchievement" AS ENUM ('ON_TRACK', 'AHEAD', 'BEHIND', 'AT_RISK');

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('CURRENT', 'LATE', 'OVERDUE', 'DELINQUENT');

-- CreateEnum
CREATE TYPE "CollectionHealth" AS ENUM ('EXCELLENT', 'GOOD', 'FAIR', 'POOR');

-- CreateEnum
CREATE TYPE "InvoiceStatus" AS ENUM ('DRAFT', 'OPEN', 'PAID', 'OVERDUE', 'VOID');

-- CreateTable
CREATE TABLE "RevenueAttribution" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "currentArr" DECIMAL(14,2) NOT NULL,
    "churnPrevention" DECIMAL(14,2) NOT NULL,
    "expansionRevenue" DECIMAL(14,2) NOT NULL,
    "referralValue" DECIMAL(14,2) NOT NULL,
    "customerLtv" DECIMAL(14,2) NOT NULL,
    "acquisitionCost" DECIMAL(14,2) NOT NULL,
    "successRoi" DOUBLE PRECISION NOT NULL,
    "paybackPeriodMonths" INTEGER NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RevenueAttribution_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ValueRealization" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "contractedValue" DECIMAL(14,2) NOT NULL,
    "realizedValue" DECIMAL(14,2) NOT NULL,
    "efficiencyGains" DECIMAL(14,2) NOT NULL,
    "costSavings" DECIMAL(14,2) NOT NULL,
    "revenueImpact" DECIMAL(14,2) NOT NULL,
    "timeToValueDays" INTEGER NOT NULL,
    "milestoneAchievement" "MilestoneAchievement" NOT NULL,
    "customerSatisfaction" DOUBLE PRECISION NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ValueRealization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FinancialHealth" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "paymentStatus" "PaymentStatus" NOT NULL,
    "invoiceAccuracy" DOUBLE PRECISION NOT NULL,
    "disputeRate" DOUBLE PRECISION NOT NULL,
    "collectionHealth" "CollectionHealth" NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FinancialHealth_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Invoice" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "number" TEXT NOT NULL,
    "amount" DECIMAL(14,2) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "issuedAt" TIMESTAMPTZ(3) NOT NULL,
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "paidAt" TIMESTAMPTZ(3),
    "status" "InvoiceStatus" NOT NULL,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RevenueAttribution_tenantId_currentArr_idx" ON "RevenueAttribution"("tenantId", "currentArr");

-- CreateIndex
CREATE UNIQUE INDEX "RevenueAttribution_tenantId_customerId_key" ON "RevenueAttribution"("tenantId", "customerId");

-- CreateIndex
CREATE UNIQUE INDEX "ValueRealization_tenantId_customerId_key" ON "ValueRealization"("tenantId", "customerId");

-- CreateIndex
CREATE INDEX "FinancialHealth_tenantId_paymentStatus_idx" ON "FinancialHealth"("tenantId", "paymentStatus");

-- CreateIndex
CREATE UNIQUE INDEX "FinancialHealth_tenantId_customerId_key" ON "FinancialHealth"("tenantId", "customerId");

-- CreateIndex
CREATE INDEX "Invoice_tenantId_customerId_issuedAt_idx" ON "Invoice"("tenantId", "customerId", "issuedAt");

-- CreateIndex
CREATE INDEX "Invoice_tenantId_status_dueAt_idx" ON "Invoice"("tenantId", "status", "dueAt");

-- CreateIndex
CREATE UNIQUE INDEX "Invoice_tenantId_number_key" ON "Invoice"("tenantId", "number");
