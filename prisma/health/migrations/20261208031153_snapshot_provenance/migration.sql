-- AlterTable
ALTER TABLE "HealthSnapshot" ADD COLUMN     "sourceSystem" TEXT,
ADD COLUMN     "sourceUpdatedAt" TIMESTAMPTZ(3);
