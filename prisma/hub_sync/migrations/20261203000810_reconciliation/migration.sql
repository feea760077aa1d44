-- Reconciliation reports (issue 11 item 5, packages/core/src/reconcile.ts), in every store: one row
-- per run of the `reconcile` job and tenant, with what it checked, what differed (before any repair),
-- the consistency score 1 - differing/checked beside the brief's target, and per check the same
-- figures (`checks`: [{"check", "checked", "differing", "repaired"}]). The differences are a bounded
-- sample (at most 100 per report, `sampled` says how many are stored), each with its key, kind
-- (missing, extra, different) and the fields that differ.
CREATE TABLE "hub_reconciliation" (
    "id"        UUID NOT NULL,
    "run_id"    TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "at"        TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "repair"    BOOLEAN NOT NULL,
    "checked"   INTEGER NOT NULL,
    "differing" INTEGER NOT NULL,
    "repaired"  INTEGER NOT NULL,
    "score"     DOUBLE PRECISION NOT NULL,
    "target"    DOUBLE PRECISION NOT NULL,
    "checks"    JSONB NOT NULL,
    "sampled"   INTEGER NOT NULL,
    CONSTRAINT "hub_reconciliation_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "hub_reconciliation_tenant_idx" ON "hub_reconciliation" ("tenant_id", "at" DESC);

CREATE TABLE "hub_reconciliation_difference" (
    "reconciliation_id" UUID NOT NULL,
    "n"                 INTEGER NOT NULL,
    "check"             TEXT NOT NULL,
    "key"               TEXT NOT NULL,
    "kind"              TEXT NOT NULL,
    "fields"            TEXT[] NOT NULL,
    "repaired"          BOOLEAN NOT NULL,
    CONSTRAINT "hub_reconciliation_difference_pkey" PRIMARY KEY ("reconciliation_id", "n"),
    CONSTRAINT "hub_reconciliation_difference_report_fkey" FOREIGN KEY ("reconciliation_id")
        REFERENCES "hub_reconciliation" ("id") ON DELETE CASCADE
);

-- A job run's flags (`npm run job -- reconcile --repair`: `{repair}`), kept with the run so a run
-- resumed after a kill, or fanned out over the tenants, runs with the flags it was asked with.
ALTER TABLE "hub_job_run" ADD COLUMN "flags" TEXT[] NOT NULL DEFAULT '{}';
