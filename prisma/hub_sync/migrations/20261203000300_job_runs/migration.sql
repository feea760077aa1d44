-- Batch job runs (issue 8), applied to every domain store: the runner (packages/core/src/events/jobs.ts)
-- records each run of a job in the store of the job's domain, beside pg-boss's own queue tables
-- (schema `pgboss_<domain>`). The id is the pg-boss job id (or, for a scheduled run fanned out over the
-- tenants, a UUID derived from it and the tenant), so a pg-boss retry of a killed run finds its record.
CREATE TABLE "hub_job_run" (
    "id"           UUID NOT NULL,
    "job"          TEXT NOT NULL,
    -- NULL: one run over every tenant of the store (a job that does not list tenants).
    "tenant_id"    TEXT,
    "status"       TEXT NOT NULL,
    "trigger"      TEXT NOT NULL,
    "queued_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "started_at"   TIMESTAMPTZ(3),
    "ended_at"     TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),
    "processed"    INTEGER NOT NULL DEFAULT 0,
    "failed"       INTEGER NOT NULL DEFAULT 0,
    "total"        INTEGER,
    -- What the job stored with its last completed chunk; a resumed run starts after it.
    "checkpoint"   JSONB,
    "summary"      JSONB,
    "error"        TEXT,
    -- How many times a runner started (or resumed) this run.
    "attempts"     INTEGER NOT NULL DEFAULT 0,
    "host"         TEXT,
    "pid"          INTEGER,
    CONSTRAINT "hub_job_run_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "hub_job_run_status_check"
        CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT "hub_job_run_trigger_check" CHECK ("trigger" IN ('schedule', 'manual'))
);
CREATE INDEX "hub_job_run_job_idx" ON "hub_job_run" ("job", "queued_at" DESC);
CREATE INDEX "hub_job_run_tenant_idx" ON "hub_job_run" ("tenant_id", "queued_at" DESC);
CREATE INDEX "hub_job_run_status_idx" ON "hub_job_run" ("status") WHERE "status" IN ('queued', 'running');

-- The weekly integration-health report: one row per tenant and week, per domain store (the domain is
-- the store's; kept in the row so exported rows say where they came from).
CREATE TABLE "hub_integration_health" (
    "tenant_id"              TEXT NOT NULL,
    "period_start"           TIMESTAMPTZ(3) NOT NULL,
    "period_end"             TIMESTAMPTZ(3) NOT NULL,
    "domain"                 TEXT NOT NULL,
    "run_id"                 UUID NOT NULL,
    -- Throughput: outbox events committed in the period, and their mean rate.
    "events"                 INTEGER NOT NULL,
    "events_per_second"      DOUBLE PRECISION NOT NULL,
    -- Publish lag of the period's events (committed -> relayed), ms; NULL when none was published.
    "publish_lag_p50_ms"     DOUBLE PRECISION,
    "publish_lag_p95_ms"     DOUBLE PRECISION,
    "outbox_backlog"         INTEGER NOT NULL,
    -- Consumers reading this domain's stream: [{ name, pending, oldestPendingAt }] when the report ran.
    "consumer_lag"           JSONB NOT NULL,
    -- Failures: sync events refused, dead letters of the pipeline and of consumers.
    "records"                INTEGER NOT NULL,
    "rejected"               INTEGER NOT NULL,
    "sync_dead_letters"      INTEGER NOT NULL,
    "consumer_dead_letters"  INTEGER NOT NULL,
    -- Quality: the mean scores of hub_sync_quality over the period (NULL without records).
    "quality_score"          DOUBLE PRECISION,
    "accuracy"               DOUBLE PRECISION,
    "completeness"           DOUBLE PRECISION,
    "consistency"            DOUBLE PRECISION,
    "created_at"             TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_integration_health_pkey" PRIMARY KEY ("tenant_id", "period_start")
);
