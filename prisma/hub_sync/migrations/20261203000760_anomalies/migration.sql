-- Anomalies the hourly anomaly-scan job found (issue 12 item 4, packages/core/src/anomaly.ts), in
-- every store: one row per (tenant, series, hour), the value beside its seasonal baseline and band.
-- `series` is `events:<source>` (accepted changes per hour from one source system) or `quality`
-- (the mean quality score of the hour's records).
CREATE TABLE "hub_anomaly" (
    "id"          UUID NOT NULL,
    "tenant_id"   TEXT NOT NULL,
    "series"      TEXT NOT NULL,
    "hour"        TIMESTAMPTZ(3) NOT NULL,
    "value"       DOUBLE PRECISION NOT NULL,
    "baseline"    DOUBLE PRECISION NOT NULL,
    "band"        DOUBLE PRECISION NOT NULL,
    "score"       DOUBLE PRECISION NOT NULL,
    "direction"   TEXT NOT NULL,
    "detected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "hub_anomaly_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "hub_anomaly_hour_key" UNIQUE ("tenant_id", "series", "hour")
);
CREATE INDEX "hub_anomaly_tenant_idx" ON "hub_anomaly" ("tenant_id", "id");
