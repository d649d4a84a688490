-- Metrics (docs/architecture.md, "Data" and "Metrics"): per-minute aggregates per container and per node, and
-- hourly usage per deployment. These tables live in the metrics database (METRICS_DATABASE_URL,
-- by default the main one; src/metrics/migrate.ts applies this file alone to a separate one).
--
-- Where TimescaleDB can be used (available, and loaded or already installed), the per-minute
-- tables are hypertables (daily chunks) with a continuous aggregate; otherwise they are native
-- tables range-partitioned by day on `minute`. The application creates the daily partitions
-- ahead and drops them past the retention (src/metrics/metrics-store.ts); PGlite does the same.
-- Ids are text: the metrics database may be separate, so nothing references the main tables.

DO $metrics$
DECLARE
  timescale boolean := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
    AND (EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
      OR current_setting('shared_preload_libraries', true) LIKE '%timescaledb%');
  partitioning text := CASE WHEN timescale THEN '' ELSE 'PARTITION BY RANGE (minute)' END;
BEGIN
  IF timescale THEN
    CREATE EXTENSION IF NOT EXISTS timescaledb;
  END IF;

  EXECUTE format($sql$
    CREATE TABLE container_metrics_minute (
      minute timestamptz NOT NULL,
      container_id text NOT NULL,
      deployment_id text NOT NULL,
      project_id text NOT NULL DEFAULT '',
      node_id text NOT NULL,
      samples integer NOT NULL,
      seconds double precision NOT NULL,
      cpu_seconds double precision NOT NULL,
      cpu_percent_max double precision NOT NULL,
      memory_byte_seconds double precision NOT NULL,
      memory_bytes_max bigint NOT NULL,
      memory_limit_bytes bigint NOT NULL,
      network_rx_bytes bigint NOT NULL,
      network_tx_bytes bigint NOT NULL,
      block_read_bytes bigint NOT NULL,
      block_write_bytes bigint NOT NULL,
      pids_max integer NOT NULL,
      PRIMARY KEY (container_id, minute)
    ) %s$sql$, partitioning);

  EXECUTE format($sql$
    CREATE TABLE node_metrics_minute (
      minute timestamptz NOT NULL,
      node_id text NOT NULL,
      samples integer NOT NULL,
      cpu_percent_avg double precision NOT NULL,
      cpu_percent_max double precision NOT NULL,
      memory_used_bytes_avg bigint NOT NULL,
      memory_used_bytes_max bigint NOT NULL,
      memory_total_bytes bigint NOT NULL,
      disk_percent_max double precision NOT NULL,
      deployment_count_max integer NOT NULL,
      PRIMARY KEY (node_id, minute)
    ) %s$sql$, partitioning);

  IF timescale THEN
    PERFORM create_hypertable('container_metrics_minute', 'minute',
      chunk_time_interval => interval '1 day');
    PERFORM create_hypertable('node_metrics_minute', 'minute',
      chunk_time_interval => interval '1 day');
    -- For dashboards and ad hoc queries; the API reads deployment_usage_hourly, which the
    -- application keeps in every mode. Optional: a TimescaleDB that refuses it (an older
    -- version, a license without continuous aggregates) leaves the hypertables in place.
    BEGIN
      EXECUTE $sql$
        CREATE MATERIALIZED VIEW deployment_metrics_hourly
        WITH (timescaledb.continuous) AS
        SELECT time_bucket(interval '1 hour', minute) AS hour,
               deployment_id,
               sum(cpu_seconds) AS cpu_seconds,
               sum(memory_byte_seconds) AS memory_byte_seconds,
               max(memory_bytes_max) AS memory_bytes_max,
               sum(network_rx_bytes + network_tx_bytes) AS network_bytes,
               sum(block_read_bytes + block_write_bytes) AS disk_io_bytes
        FROM container_metrics_minute
        GROUP BY 1, 2
        WITH NO DATA$sql$;
      PERFORM add_continuous_aggregate_policy('deployment_metrics_hourly',
        start_offset => interval '3 hours', end_offset => interval '1 minute',
        schedule_interval => interval '5 minutes');
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'metrics: no continuous aggregate (%)', SQLERRM;
    END;
  END IF;
END
$metrics$;

-- A deployment's series, and retention on the plain (non-partitioned) fallback.
CREATE INDEX container_metrics_minute_deployment ON container_metrics_minute (deployment_id, minute);

CREATE TABLE deployment_usage_hourly (
  hour timestamptz NOT NULL,
  deployment_id text NOT NULL,
  cpu_seconds double precision NOT NULL,
  memory_byte_seconds double precision NOT NULL,
  network_bytes bigint NOT NULL,
  disk_io_bytes bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, hour)
);
CREATE INDEX deployment_usage_hourly_hour ON deployment_usage_hourly (hour);
