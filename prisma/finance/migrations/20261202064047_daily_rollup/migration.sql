-- CreateTable
CREATE TABLE "FinanceDailyRollup" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "currentArr" DECIMAL(14,2) NOT NULL,
    "contractedValue" DECIMAL(14,2) NOT NULL,
    "realizedValue" DECIMAL(14,2) NOT NULL,
    "invoicedTotal" DECIMAL(14,2) NOT NULL,
    "paidTotal" DECIMAL(14,2) NOT NULL,
    "outstandingTotal" DECIMAL(14,2) NOT NULL,
    "overdueTotal" DECIMAL(14,2) NOT NULL,
    "overdueInvoices" INTEGER NOT NULL,
    "paymentStatus" "PaymentStatus",
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FinanceDailyRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FinanceDailyRollup_tenantId_day_idx" ON "FinanceDailyRollup"("tenantId", "day");

-- CreateIndex
CREATE UNIQUE INDEX "FinanceDailyRollup_tenantId_customerId_day_key" ON "FinanceDailyRollup"("tenantId", "customerId", "day");
