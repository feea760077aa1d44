-- CreateTable
CREATE TABLE "SupportDailyRollup" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "totalTickets" INTEGER NOT NULL,
    "openTickets" INTEGER NOT NULL,
    "urgentOpenTickets" INTEGER NOT NULL,
    "openedOnDay" INTEGER NOT NULL,
    "resolvedOnDay" INTEGER NOT NULL,
    "duplicateOpenTickets" INTEGER NOT NULL,
    "averageSatisfaction" DOUBLE PRECISION,
    "satisfactionResponses" INTEGER NOT NULL,
    "averageFirstResponseHours" DOUBLE PRECISION,
    "averageResolutionHours" DOUBLE PRECISION,
    "sourceSystem" TEXT,
    "sourceUpdatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SupportDailyRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SupportDailyRollup_tenantId_day_idx" ON "SupportDailyRollup"("tenantId", "day");

-- CreateIndex
CREATE UNIQUE INDEX "SupportDailyRollup_tenantId_customerId_day_key" ON "SupportDailyRollup"("tenantId", "customerId", "day");
