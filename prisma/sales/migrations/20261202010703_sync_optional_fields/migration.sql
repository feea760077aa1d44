-- AlterTable
ALTER TABLE "ExpansionOpportunity" ALTER COLUMN "ownerId" DROP NOT NULL,
ALTER COLUMN "successFactors" SET DEFAULT ARRAY[]::TEXT[],
ALTER COLUMN "csSuccessEvidence" SET DEFAULT ARRAY[]::TEXT[],
ALTER COLUMN "csRiskMitigation" SET DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "RenewalForecast" ALTER COLUMN "renewalDate" DROP NOT NULL,
ALTER COLUMN "riskFactors" SET DEFAULT ARRAY[]::TEXT[],
ALTER COLUMN "successMitigation" SET DEFAULT ARRAY[]::TEXT[];
